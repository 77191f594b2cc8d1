// The `@alga/sdk` module: small helpers for building responses.

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

export const Response = globalThis.Response;
export const Headers = globalThis.Headers;
