// The `@alga/sdk` module extensions import: response helpers and HttpError. Its typings are
// js/sdk/index.d.ts; tests/it/sdk_typings.rs fails when one has an export the other lacks.
//
// Every isolate evaluates this module before the extension's main module (see
// `Isolate::load_main`) and hands it to the dispatcher, so the `HttpError` a handler
// imports, the one `ctx.error` throws and the one the dispatcher recognizes are one class.

export const Response = globalThis.Response;
export const Headers = globalThis.Headers;

/** A JSON response: `return json({ ok: true }, { status: 201 })`. */
export function json(body, init = {}) {
  return Response.json(body, init);
}

/** An HTML response, for pages. */
export function html(text, init = {}) {
  const response = new Response(String(text), init);
  response.headers.set("content-type", "text/html;charset=utf-8");
  return response;
}

/** A plain-text response; a `content-type` in `init.headers` wins over text/plain. */
export function text(body, init = {}) {
  return new Response(String(body), init);
}

/** A redirect to `location` (absolute, or relative to the request) with 301, 302 (the
 *  default), 303, 307 or 308. */
export function redirect(location, status = 302) {
  if (typeof location !== "string" && !(location instanceof globalThis.URL)) {
    throw new TypeError(`redirect(location): location must be a string or a URL, not ${describe(location)}`);
  }
  if (String(location) === "") throw new TypeError("redirect(location): location must not be empty");
  return Response.redirect(location, status);
}

// The same rules as the runtime's own error codes: they are what clients switch on.
const CODE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;
const MAX_CODE_CHARS = 64;

/** What is wrong with an HttpError's fields, in words, or null. The dispatcher checks a
 *  thrown one again with its own copy of these rules, since fields can change after
 *  construction. */
function problemOf(status, code, message) {
  if (!Number.isInteger(status) || status < 400 || status > 599) {
    return `status must be an integer from 400 to 599, not ${describe(status)}`;
  }
  if (typeof code !== "string" || code.length > MAX_CODE_CHARS || !CODE.test(code)) {
    return `code must be SCREAMING_SNAKE_CASE such as NOT_FOUND (at most ${MAX_CODE_CHARS} characters), not ${describe(code)}`;
  }
  if (typeof message !== "string" || message === "") {
    return `message must be a non-empty string, not ${describe(message)}`;
  }
  return null;
}

function describe(value) {
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol") return value.toString();
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "an array" : "an object";
}

/** Thrown by a handler (or made by `ctx.error`), answers its status with the runtime's
 *  error shape `{ "error": { "code", "message", "details" } }`. It is an answer, not a
 *  failure: it is not logged as one and never counts towards suspending the extension.
 *  `init.headers` adds response headers (`Retry-After` on a 429, `WWW-Authenticate` on a
 *  401), under the same rules as a `Response`'s; the body stays the runtime's JSON. */
export class HttpError extends Error {
  constructor(status, code, message, details, init) {
    const problem = problemOf(status, code, message);
    if (problem !== null) throw new TypeError(`new HttpError(...): ${problem}`);
    if (init !== undefined && (init === null || typeof init !== "object")) {
      throw new TypeError(`new HttpError(...): init must be an object such as { headers: { "retry-after": "30" } }, not ${describe(init)}`);
    }
    // Built before super(): a bad header name or value throws here, at the author's line.
    const headers = new Headers(init?.headers);
    super(message);
    this.status = status;
    this.code = code;
    this.details = details === undefined ? null : details;
    this.headers = headers;
  }
}
// On the prototype, writable: a subclass may still name its instances.
Object.defineProperty(HttpError.prototype, "name", { value: "HttpError", writable: true, configurable: true, enumerable: false });
