// Builds the handler dispatcher and seals the global scope. Run once per isolate, after the
// ops' JS glue and before any extension code; its completion value is `{ dispatch, bindSdk }`,
// which Rust keeps. `Deno` is removed afterwards: extension code sees only web-standard globals.
(() => {
  const core = globalThis.Deno.core;
  const { op_console_write } = core.ops;
  const ResponseClass = globalThis.Response;
  const payloadOf = ResponseClass._payload;
  delete Object.getPrototypeOf(ResponseClass)._payload;
  const { op_base64_encode, op_base64_decode } = core.ops;
  // The dispatcher's own copies of the builtins it relies on: an extension that replaces
  // JSON or Map methods breaks only its own code, never the envelope Rust reads.
  const freeze = Object.freeze;
  const { parse: jsonParse, stringify: jsonStringify } = JSON;
  const apply = Reflect.apply;
  const { get: mapGet, set: mapSet, delete: mapDelete, clear: mapClear } = Map.prototype;
  const isPrototypeOf = Object.prototype.isPrototypeOf;
  const regExpTest = RegExp.prototype.test;
  const isInteger = Number.isInteger;
  const storage = globalThis.__algaStorage;
  delete globalThis.__algaStorage;
  const api = globalThis.__algaApi;
  delete globalThis.__algaApi;

  function makeLog() {
    const write = (level) => (message, fields) =>
      op_console_write(level, fields === undefined ? String(message) : `${message} ${jsonStringify(fields)}`);
    return freeze({ debug: write(0), info: write(1), warn: write(2), error: write(3) });
  }
  const log = makeLog();

  // Work a handler left running after its response (a promise nobody awaits) must not fail
  // a later request with its rejection: log it as the extension's error instead.
  core.setUnhandledPromiseRejectionHandler((_promise, reason) => {
    log.error(`unhandled promise rejection: ${reason?.stack ?? reason}`);
    return true;
  });

  // The `@alga/sdk` module's HttpError, given by Rust once the module is evaluated (see
  // `bindSdk`): the dispatcher answers it, `ctx.error` throws it.
  let HttpError;
  let httpErrorPrototype;

  function bindSdk(sdk) {
    HttpError = sdk.HttpError;
    httpErrorPrototype = HttpError.prototype;
  }

  function ctxError(status, code, message, details, init) {
    if (HttpError === undefined) throw new Error("internal: the @alga/sdk module is not loaded in this isolate");
    throw new HttpError(status, code, message, details, init);
  }

  function makeCtx(data) {
    const settings = freeze({ ...data.settings });
    const permissions = freeze([...data.permissions]);
    return freeze({
      tenant: data.tenant,
      user: freeze({ id: data.user.id, roles: freeze([...data.user.roles]) }),
      extension: freeze({ ...data.extension }),
      settings: freeze({
        async get(key) {
          return key === undefined ? { ...settings } : settings[key];
        },
      }),
      permissions: freeze({
        has: (name) => permissions.includes(String(name)),
        list: () => [...permissions],
      }),
      storage: storage.create(""),
      api,
      log,
      error: ctxError,
    });
  }

  function headerList(headers) {
    if (!headers) return [];
    if (headers instanceof globalThis.Headers) return [...headers];
    if (Array.isArray(headers)) return headers.map(([k, v]) => [String(k), String(v)]);
    return Object.entries(headers).map(([k, v]) => [k, String(v)]);
  }

  function has(list, name) {
    return list.some(([k]) => k.toLowerCase() === name);
  }

  function isBinary(value) {
    return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
  }

  // Binary bodies cross into Rust as base64 (JSON has no bytes).
  function binary(value) {
    const bytes = value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    return op_base64_encode(bytes);
  }

  // Turns whatever a handler returned into { status, headers, body | bodyBase64 }.
  function normalize(result, isPage) {
    if (result instanceof ResponseClass) {
      const payload = payloadOf(result);
      const headers = [...result.headers];
      return payload.bytes
        ? { status: result.status, headers, bodyBase64: binary(payload.bytes) }
        : { status: result.status, headers, body: payload.text };
    }
    if (typeof result === "string") {
      const type = isPage ? "text/html;charset=utf-8" : "text/plain;charset=utf-8";
      return { status: 200, headers: [["content-type", type]], body: result };
    }
    if (result === undefined || result === null) return { status: 204, headers: [], body: null };
    if (isBinary(result)) return { status: 200, headers: [["content-type", "application/octet-stream"]], bodyBase64: binary(result) };
    if (typeof result !== "object" || !("status" in result || "body" in result || "headers" in result)) {
      return { status: 200, headers: [["content-type", "application/json"]], body: jsonStringify(result) };
    }
    const status = result.status ?? 200;
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError(`handler returned an invalid status ${status}`);
    }
    const headers = headerList(result.headers);
    let body = result.body;
    if (body === undefined || body === null) {
      body = null;
    } else if (isBinary(body)) {
      if (!has(headers, "content-type")) headers.push(["content-type", "application/octet-stream"]);
      return { status, headers, bodyBase64: binary(body) };
    } else if (typeof body === "string") {
      if (!has(headers, "content-type")) headers.push(["content-type", "text/plain;charset=utf-8"]);
    } else {
      body = jsonStringify(body);
      if (!has(headers, "content-type")) headers.push(["content-type", "application/json"]);
    }
    return { status, headers, body };
  }

  // Contexts by the id Rust gave them; Rust keeps the same table and sends a context's
  // data only the first time, and says which id to forget (0xFFFFFFFF: all).
  const contexts = new Map();
  const FORGET_ALL = 0xffffffff;

  // The handler's request object; a binary body arrives as base64 and becomes a Uint8Array.
  function request(json) {
    const parsed = jsonParse(json);
    if (parsed.bodyBase64 !== undefined) {
      parsed.body = op_base64_decode(parsed.bodyBase64);
      delete parsed.bodyBase64;
    }
    return parsed;
  }

  function isThenable(value) {
    return value !== null && (typeof value === "object" || typeof value === "function") && typeof value.then === "function";
  }

  // The rules of sdk.js's HttpError, checked again when one is thrown: its fields may have
  // changed since it was built, and a subclass may compute them.
  const CODE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;
  function httpErrorProblem(status, code, message) {
    if (!isInteger(status) || status < 400 || status > 599) return `status is ${String(status)}, not an integer from 400 to 599`;
    if (typeof code !== "string" || code.length > 64 || !apply(regExpTest, CODE, [code])) {
      return `code is ${typeof code === "string" ? jsonStringify(code) : String(code)}, not SCREAMING_SNAKE_CASE of at most 64 characters`;
    }
    if (typeof message !== "string" || message === "") return "message is not a non-empty string";
    return null;
  }

  // A handler that threw an HttpError has answered: Rust gets `{ httpError: { status, code,
  // message, details } }` and makes it the runtime's error shape. Anything else it threw is
  // thrown on, for Rust to report as the extension's uncaught error.
  function answerThrown(error) {
    if (httpErrorPrototype === undefined || error === null || typeof error !== "object" || !apply(isPrototypeOf, httpErrorPrototype, [error])) {
      throw error;
    }
    const { status, code, message, details } = error;
    const problem = httpErrorProblem(status, code, message);
    if (problem !== null) throw invalid(error, `the handler threw an HttpError whose ${problem}`);
    let headers;
    try {
      headers = headerList(error.headers);
    } catch (cause) {
      throw invalid(error, `the handler threw an HttpError whose headers are not valid (${cause?.message ?? cause})`);
    }
    try {
      return jsonStringify({ httpError: { status, code, message, details: details === undefined ? null : details, headers } });
    } catch (cause) {
      throw invalid(error, `the handler threw an HttpError whose details are not JSON (${cause?.message ?? cause})`);
    }
  }

  // The thrown error itself, reworded, so that its stack still points at the author's line;
  // a new TypeError when it cannot be reworded (a frozen error).
  function invalid(error, text) {
    try {
      error.message = text;
      if (error.message === text) return error;
    } catch {
      // Falls through to a new error.
    }
    return new TypeError(text);
  }

  // Transactions a handler did not finish are rolled back by Rust when the call ends.
  async function settle(result, isPage) {
    let value;
    try {
      value = await result;
    } catch (error) {
      return answerThrown(error);
    }
    return jsonStringify(normalize(value, isPage));
  }

  // Answers JSON text: `{ status, headers: [[name, value]...], body: string|null }` (or
  // `bodyBase64` for bytes), or `{ httpError }` for a thrown HttpError. A
  // handler that answers at once gets the text back at once: no promise to watch and no
  // turn of the event loop, which is most of the cost of a small request.
  function dispatch(namespace, name, requestJson, ctxId, ctxJson, evict, isPage) {
    if (evict === FORGET_ALL) apply(mapClear, contexts, []);
    else if (evict !== undefined) apply(mapDelete, contexts, [evict]);
    if (ctxJson !== undefined) apply(mapSet, contexts, [ctxId, makeCtx(jsonParse(ctxJson))]);
    const ctx = apply(mapGet, contexts, [ctxId]);
    if (ctx === undefined) throw new Error(`internal: context ${ctxId} is unknown`);
    const handler = namespace[name];
    if (typeof handler !== "function") {
      throw new TypeError(`the main module does not export a function named ${name}`);
    }
    let result;
    try {
      result = handler(freeze(request(requestJson)), ctx);
    } catch (error) {
      return answerThrown(error);
    }
    if (isThenable(result)) return settle(result, isPage);
    return jsonStringify(normalize(result, isPage));
  }

  // Every path to runtime internals goes: `Deno.core` and `__bootstrap` (core, internals,
  // primordials) hold the op table and deno_core's private helpers. Extension code reaches
  // nothing but the glue's public API (the glue keeps what it needs in closures).
  delete globalThis.Deno;
  delete globalThis.__bootstrap;
  // Shared memory is only useful with Atomics.wait (refused by the isolate anyway) or a
  // second thread (there is none); without it no blocking primitive is left.
  delete globalThis.SharedArrayBuffer;
  // WebAssembly memory lives outside both the V8 heap and the ArrayBuffer budget, so it
  // could grow past every limit: extensions do without it.
  delete globalThis.WebAssembly;
  return freeze({ dispatch, bindSdk });
})();
