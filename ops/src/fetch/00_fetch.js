// fetch() for extension code: the standard call shape on top of op_fetch_send, which owns
// every check (granted hosts, addresses, redirects, sizes, time). This file only turns
// Request/Response objects into the op's arguments and back.
import { op_fetch_send } from "ext:core/ops";

const { Headers, Request, Response } = globalThis;

// What fetch() rejects with: a TypeError (as browsers do), with the runtime's `code`.
class FetchError extends TypeError {
  constructor(message, code) {
    super(message);
    this.name = "FetchError";
    // Left undefined, so deno_core can set the op's code on an error it builds.
    if (code !== undefined) this.code = code;
  }
}
globalThis.Deno.core.registerErrorClass("FetchError", FetchError);

async function fetch(input, init = undefined) {
  const options = init ?? {};
  const request = input instanceof Request && init === undefined ? input : new Request(input, options);
  const method = request.method;
  const hasBody = options.body !== undefined && options.body !== null;
  if (hasBody && (method === "GET" || method === "HEAD")) {
    throw new TypeError(`fetch: a ${method} request cannot have a body`);
  }
  if (options.signal?.aborted) {
    throw new globalThis.DOMException("the request was aborted before it started", "AbortError");
  }
  const body = await request.bytes();
  const headers = [...new Headers(request.headers)];
  const answer = await op_fetch_send(request.url, { method, headers, hasBody: hasBody || body.length > 0, redirect: String(options.redirect ?? "follow") }, body);
  // Statuses the Response constructor refuses (1xx never arrive; 3xx only with "manual").
  const response = new Response(answer.status === 204 || answer.status === 304 ? null : answer.body, {
    status: answer.status,
    statusText: answer.statusText,
    headers: answer.headers,
  });
  Object.defineProperties(response, {
    url: { value: answer.url, enumerable: true },
    redirected: { value: answer.redirected, enumerable: true },
    type: { value: "basic", enumerable: true },
  });
  return response;
}

Object.defineProperty(globalThis, "fetch", { value: fetch, writable: true, enumerable: false, configurable: true });
