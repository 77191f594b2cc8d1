// ctx.api: the host app's REST API for the request's tenant and user. Identity, capability
// checks and limits live in Rust (op_api_request); this file shapes calls and errors.
import { op_api_request } from "ext:core/ops";

// What ctx.api throws: built by deno_core from the op's Rust error (registered below), with
// `code` set from Rust; `HTTP_ERROR` ones are made here with `status` and `body`.
class ApiError extends Error {
  constructor(message, code, status, body) {
    super(message);
    this.name = "ApiError";
    // Left undefined, so deno_core can set the op's code on an error it builds.
    if (code !== undefined) this.code = code;
    if (status !== undefined) this.status = status;
    if (body !== undefined) this.body = body;
  }
}
globalThis.Deno.core.registerErrorClass("ApiError", ApiError);

function headerList(headers) {
  if (headers === undefined || headers === null) return [];
  if (headers instanceof globalThis.Headers) return [...headers];
  if (Array.isArray(headers)) return headers.map(([k, v]) => [String(k), String(v)]);
  return Object.entries(headers).map(([k, v]) => [k, String(v)]);
}

/** Any method; resolves to `{ status, headers, body }` whatever the status. */
async function request(method, path, options = {}) {
  if (typeof path !== "string") throw new TypeError("path must be a string such as /api/v1/tickets");
  const { body, headers, query } = options ?? {};
  let full = path;
  if (query !== undefined && query !== null) {
    const qs = new globalThis.URLSearchParams(query).toString();
    if (qs) full += (path.includes("?") ? "&" : "?") + qs;
  }
  const args = { headers: headerList(headers) };
  if (body !== undefined) args.body = body;
  return await op_api_request(String(method), full, args);
}

// The short forms resolve to the body and throw `HTTP_ERROR` (with status and body) when
// the host does not answer 2xx.
async function call(method, path, body, options) {
  const response = await request(method, path, body === undefined ? options : { ...options, body });
  if (response.status < 200 || response.status > 299) {
    throw new ApiError(`${method} ${path} answered ${response.status}`, "HTTP_ERROR", response.status, response.body);
  }
  return response.body;
}

Object.defineProperty(globalThis, "__algaApi", {
  value: Object.freeze({
    request,
    get: (path, options) => call("GET", path, undefined, options),
    delete: (path, options) => call("DELETE", path, undefined, options),
    post: (path, body, options) => call("POST", path, body, options),
    put: (path, body, options) => call("PUT", path, body, options),
    patch: (path, body, options) => call("PATCH", path, body, options),
    ApiError,
  }),
  configurable: true,
  enumerable: false,
  writable: false,
});
