// Web platform globals for extension code, built on deno_core's primitives and a few ops
// (events and cancellation in 01_events.js, crypto.subtle in 02_subtle.js).
// Extensions expect these from browsers, Deno and Workers; anything not here is absent on
// purpose (no fs, no process; fetch is ../fetch/00_fetch.js, limited to granted hosts).
import { op_crypto_get_random_values, op_crypto_random_uuid, op_url_parse } from "ext:core/ops";
import { AbortController, AbortSignal, cancelTimer, createTimer, DOMException, Event, EventTarget, performance, queueMicrotask } from "ext:alga_web/01_events.js";
import { subtle } from "ext:alga_web/02_subtle.js";

const core = globalThis.Deno.core;

function define(name, value) {
  Object.defineProperty(globalThis, name, { value, writable: true, enumerable: false, configurable: true });
}


// --- base64 -------------------------------------------------------------------------
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function btoa(data) {
  const text = String(data);
  let out = "";
  for (let i = 0; i < text.length; i += 3) {
    const a = text.charCodeAt(i), b = text.charCodeAt(i + 1), c = text.charCodeAt(i + 2);
    if (a > 255 || b > 255 || c > 255) {
      throw new DOMException("btoa: the string has characters outside Latin-1", "InvalidCharacterError");
    }
    const n = (a << 16) | ((b || 0) << 8) | (c || 0);
    out += B64[n >> 18] + B64[(n >> 12) & 63];
    out += i + 1 < text.length ? B64[(n >> 6) & 63] : "=";
    out += i + 2 < text.length ? B64[n & 63] : "=";
  }
  return out;
}

function atob(data) {
  let text = String(data).replace(/[\t\n\f\r ]/g, "");
  if (text.length % 4 === 0) text = text.replace(/==?$/, "");
  if (text.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(text)) {
    throw new DOMException("atob: the string is not valid base64", "InvalidCharacterError");
  }
  let out = "", bits = 0, buffer = 0;
  for (const ch of text) {
    buffer = (buffer << 6) | B64.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((buffer >> bits) & 255);
    }
  }
  return out;
}

// --- text encoding --------------------------------------------------------------------
class TextEncoder {
  get encoding() {
    return "utf-8";
  }
  encode(input = "") {
    return core.encode(String(input));
  }
}

function toBytes(input) {
  if (input === undefined) return new Uint8Array(0);
  if (input instanceof Uint8Array) return input;
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  throw new TypeError("TextDecoder.decode: expected an ArrayBuffer or a view of one");
}

class TextDecoder {
  #fatal;
  #ignoreBOM;
  constructor(label = "utf-8", options = {}) {
    const name = String(label).trim().toLowerCase();
    if (name !== "utf-8" && name !== "utf8" && name !== "unicode-1-1-utf-8") {
      throw new RangeError(`TextDecoder: only utf-8 is supported, not ${label}`);
    }
    this.#fatal = Boolean(options.fatal);
    this.#ignoreBOM = Boolean(options.ignoreBOM);
  }
  get encoding() {
    return "utf-8";
  }
  get fatal() {
    return this.#fatal;
  }
  get ignoreBOM() {
    return this.#ignoreBOM;
  }
  decode(input) {
    let bytes = toBytes(input);
    if (!this.#ignoreBOM && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    const text = core.decode(bytes);
    if (this.#fatal && text.includes("\uFFFD") && core.encode(text).length !== bytes.length) {
      throw new TypeError("TextDecoder: the data is not valid utf-8");
    }
    return text;
  }
}

// --- timers ---------------------------------------------------------------------------
function setTimeout(callback, delay = 0, ...args) {
  if (typeof callback !== "function") throw new TypeError("setTimeout: callback must be a function");
  return createTimer(() => callback(...args), Number(delay) || 0, false);
}
function setInterval(callback, delay = 0, ...args) {
  if (typeof callback !== "function") throw new TypeError("setInterval: callback must be a function");
  return createTimer(() => callback(...args), Number(delay) || 0, true);
}
function clearTimer(id) {
  if (typeof id === "number") cancelTimer(id);
}

// --- crypto ---------------------------------------------------------------------------
const INTEGER_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array];
const crypto = Object.freeze({
  subtle,
  randomUUID: () => op_crypto_random_uuid(),
  getRandomValues(array) {
    if (!INTEGER_ARRAYS.some((T) => array instanceof T)) {
      throw new DOMException("getRandomValues: expected an integer typed array", "TypeMismatchError");
    }
    if (array.byteLength > 65536) {
      throw new DOMException("getRandomValues: at most 65536 bytes at a time", "QuotaExceededError");
    }
    op_crypto_get_random_values(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
    return array;
  },
});

// --- URL ------------------------------------------------------------------------------
const form = {
  decode: (s) => decodeURIComponent(s.replace(/\+/g, " ")),
  encode: (s) => encodeURIComponent(s).replace(/%20/g, "+").replace(/[!'()~]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase()),
};

class URLSearchParams {
  #list = [];
  #onChange = null;
  constructor(init = "") {
    if (typeof init === "string") {
      this.#parse(init);
    } else if (init && typeof init[Symbol.iterator] === "function") {
      for (const pair of init) {
        const [k, v] = [...pair];
        this.#list.push([String(k), String(v)]);
      }
    } else if (init && typeof init === "object") {
      for (const k of Object.keys(init)) this.#list.push([k, String(init[k])]);
    }
  }
  #parse(text) {
    this.#list = [];
    for (const part of text.replace(/^\?/, "").split("&")) {
      if (!part) continue;
      const eq = part.indexOf("=");
      const [k, v] = eq < 0 ? [part, ""] : [part.slice(0, eq), part.slice(eq + 1)];
      this.#list.push([form.decode(k), form.decode(v)]);
    }
  }
  static _attach(params, text, onChange) {
    params.#parse(text);
    params.#onChange = onChange;
  }
  #changed() {
    if (this.#onChange) this.#onChange(this.toString());
  }
  get size() {
    return this.#list.length;
  }
  append(k, v) {
    this.#list.push([String(k), String(v)]);
    this.#changed();
  }
  delete(k) {
    this.#list = this.#list.filter(([key]) => key !== String(k));
    this.#changed();
  }
  get(k) {
    const hit = this.#list.find(([key]) => key === String(k));
    return hit ? hit[1] : null;
  }
  getAll(k) {
    return this.#list.filter(([key]) => key === String(k)).map(([, v]) => v);
  }
  has(k) {
    return this.#list.some(([key]) => key === String(k));
  }
  set(k, v) {
    const key = String(k);
    const at = this.#list.findIndex(([x]) => x === key);
    if (at < 0) this.#list.push([key, String(v)]);
    else this.#list = this.#list.filter(([x], i) => x !== key || i === at).map((p, i) => (i === at ? [key, String(v)] : p));
    this.#changed();
  }
  sort() {
    this.#list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.#changed();
  }
  forEach(fn, thisArg) {
    for (const [k, v] of this.#list) fn.call(thisArg, v, k, this);
  }
  *entries() {
    yield* this.#list.map((p) => [...p]);
  }
  *keys() {
    for (const [k] of this.#list) yield k;
  }
  *values() {
    for (const [, v] of this.#list) yield v;
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  toString() {
    return this.#list.map(([k, v]) => `${form.encode(k)}=${form.encode(v)}`).join("&");
  }
}

class URL {
  #parts;
  #params;
  constructor(url, base) {
    this.#parts = op_url_parse(String(url), base === undefined ? undefined : String(base));
    this.#params = new URLSearchParams();
    URLSearchParams._attach(this.#params, this.#parts.search, (query) => this.#setSearch(query));
  }
  static canParse(url, base) {
    try {
      new URL(url, base);
      return true;
    } catch {
      return false;
    }
  }
  #setSearch(query) {
    const base = this.#parts.href.replace(/[?#].*$/, "");
    this.#parts = op_url_parse(base + (query ? "?" + query : "") + this.#parts.hash);
  }
  get href() { return this.#parts.href; }
  get origin() { return this.#parts.origin; }
  get protocol() { return this.#parts.protocol; }
  get username() { return this.#parts.username; }
  get password() { return this.#parts.password; }
  get host() { return this.#parts.host; }
  get hostname() { return this.#parts.hostname; }
  get port() { return this.#parts.port; }
  get pathname() { return this.#parts.pathname; }
  get search() { return this.#parts.search; }
  set search(value) {
    URLSearchParams._attach(this.#params, String(value), (query) => this.#setSearch(query));
    this.#setSearch(this.#params.toString());
  }
  get searchParams() { return this.#params; }
  get hash() { return this.#parts.hash; }
  toString() { return this.#parts.href; }
  toJSON() { return this.#parts.href; }
}

// --- Headers, Request, Response -------------------------------------------------------
class Headers {
  #map = new Map();
  constructor(init) {
    if (init instanceof Headers) init = [...init];
    if (Array.isArray(init)) for (const [k, v] of init) this.append(k, v);
    else if (init && typeof init === "object") for (const k of Object.keys(init)) this.append(k, init[k]);
  }
  #name(name) {
    const key = String(name).toLowerCase();
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(key)) throw new TypeError(`Headers: invalid header name ${name}`);
    return key;
  }
  append(name, value) {
    const key = this.#name(name);
    const v = String(value).trim();
    this.#map.set(key, this.#map.has(key) ? `${this.#map.get(key)}, ${v}` : v);
  }
  set(name, value) {
    this.#map.set(this.#name(name), String(value).trim());
  }
  get(name) {
    return this.#map.get(this.#name(name)) ?? null;
  }
  has(name) {
    return this.#map.has(this.#name(name));
  }
  delete(name) {
    this.#map.delete(this.#name(name));
  }
  forEach(fn, thisArg) {
    for (const [k, v] of this) fn.call(thisArg, v, k, this);
  }
  *entries() {
    yield* [...this.#map.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  }
  *keys() {
    for (const [k] of this.entries()) yield k;
  }
  *values() {
    for (const [, v] of this.entries()) yield v;
  }
  [Symbol.iterator]() {
    return this.entries();
  }
}

// A body as the runtime keeps it: text, or bytes (copied, so later writes by the caller
// do not change what was sent).
function bodyOf(body) {
  if (body === undefined || body === null) return { text: null };
  if (typeof body === "string") return { text: body };
  if (body instanceof URLSearchParams) return { text: body.toString() };
  if (body instanceof ArrayBuffer) return { bytes: new Uint8Array(body.slice(0)) };
  if (ArrayBuffer.isView(body)) return { bytes: new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)) };
  return { text: String(body) };
}

class Body {
  #body;
  #used = false;
  constructor(body) {
    this.#body = bodyOf(body);
  }
  get bodyUsed() {
    return this.#used;
  }
  #take() {
    if (this.#used) throw new TypeError("body already used");
    this.#used = true;
    return this.#body;
  }
  async text() {
    const body = this.#take();
    return body.bytes ? new TextDecoder().decode(body.bytes) : (body.text ?? "");
  }
  async json() {
    return JSON.parse(await this.text());
  }
  async bytes() {
    const body = this.#take();
    return body.bytes ? body.bytes.slice() : new TextEncoder().encode(body.text ?? "");
  }
  async arrayBuffer() {
    return (await this.bytes()).buffer;
  }
  /** The body without consuming it, `{ text }` or `{ bytes }`: for the runtime's response
   *  conversion, which takes it and removes it from the class (`Response._payload`). */
  static _payload(body) {
    return body.#body;
  }
}
const payloadOf = Body._payload;

class Request extends Body {
  constructor(input, init = {}) {
    super(init.body);
    this.url = input instanceof Request ? input.url : new URL(String(input)).href;
    this.method = String(init.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    this.headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
  }
}

class Response extends Body {
  constructor(body = null, init = {}) {
    super(body);
    const status = init.status ?? 200;
    if (!Number.isInteger(status) || status < 200 || status > 599) throw new RangeError(`Response: invalid status ${status}`);
    this.status = status;
    this.statusText = String(init.statusText ?? "");
    this.headers = new Headers(init.headers);
    if (typeof body === "string" && !this.headers.has("content-type")) this.headers.set("content-type", "text/plain;charset=UTF-8");
    if (payloadOf(this).bytes && !this.headers.has("content-type")) this.headers.set("content-type", "application/octet-stream");
  }
  get ok() {
    return this.status >= 200 && this.status < 300;
  }
  static json(data, init = {}) {
    const response = new Response(JSON.stringify(data), init);
    response.headers.set("content-type", "application/json");
    return response;
  }
  static redirect(url, status = 302) {
    if (![301, 302, 303, 307, 308].includes(status)) throw new RangeError(`Response.redirect: invalid status ${status}`);
    return new Response(null, { status, headers: { location: String(url) } });
  }
  clone() {
    if (this.bodyUsed) throw new TypeError("Response.clone: body already used");
    const payload = payloadOf(this);
    return new Response(payload.bytes ?? payload.text, { status: this.status, statusText: this.statusText, headers: this.headers });
  }
}

for (const [name, value] of Object.entries({
  atob, btoa, TextEncoder, TextDecoder, DOMException, setTimeout, setInterval,
  clearTimeout: clearTimer, clearInterval: clearTimer, crypto, URL, URLSearchParams,
  Headers, Request, Response, structuredClone: (value) => core.structuredClone(value),
  AbortController, AbortSignal, Event, EventTarget, performance, queueMicrotask,
})) {
  define(name, value);
}
