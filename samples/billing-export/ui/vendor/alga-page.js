//! The Page SDK: what an extension's page imports to talk to its host over Alga's v1 postMessage envelope.
//
// Plain ES module, no dependencies, no build step. The API follows Alga PSA's
// `@alga-psa/extension-iframe-sdk` (`IframeBridge`, `callHandlerJson`, `uiProxy`) so existing
// extension UIs port by changing an import; `createBridge`, `callHandler`, `onTheme`,
// `navigate` and `autoResize` are the shorter forms of the same calls.

const ENVELOPE_VERSION = "1";
const PROXY_METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE"]);
const DEFAULT_TIMEOUT_MS = 15000;

/** A refused or failed `apiproxy` call: `code` is the runtime's machine-readable code. */
export class HandlerError extends Error {
  constructor(code, message, status, body, details) {
    super(message);
    this.name = "HandlerError";
    this.code = code;
    this.status = status;
    this.body = body;
    // The runtime's `details` (e.g. `{ field }` of an `HttpError`), when it sent any.
    this.details = details;
  }
}

/** Sets every `--alga-*` token as a CSS variable on `root` (the page's `<html>` by default). */
export function applyThemeTokens(tokens, root) {
  const target = root || (typeof document !== "undefined" ? document.documentElement : null);
  if (!target || !tokens || typeof tokens !== "object") return;
  for (const [name, value] of Object.entries(tokens)) {
    // Only the theme's own variables: a host cannot restyle arbitrary properties through this.
    if (!name.startsWith("--alga-")) continue;
    if (typeof value !== "string" && typeof value !== "number") continue;
    target.style.setProperty(name, String(value));
  }
}

function randomId() {
  if (typeof crypto !== "undefined" && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return String(Date.now()) + Math.random().toString(16).slice(2);
}

function toBase64(bytes) {
  let binary = "";
  // Chunks keep String.fromCharCode's argument list far below engine limits.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text) {
  const binary = atob(text || "");
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function encodeBody(body) {
  if (body === undefined || body === null) return undefined;
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (typeof body === "string") return new TextEncoder().encode(body);
  return new TextEncoder().encode(JSON.stringify(body));
}

function proxyError(error, body) {
  // The runtime answers `{ code, message, status, details }`; Alga's own host answers a plain string.
  if (error && typeof error === "object") {
    return new HandlerError(String(error.code || "PROXY_ERROR"), String(error.message || "the call failed"), error.status, body, error.details ?? undefined);
  }
  return new HandlerError("PROXY_ERROR", String(error), undefined, body);
}

/**
 * The page's end of the bridge. Only messages from `window.parent` in the v1 envelope are
 * acted on; anything else (other windows, other versions, unknown types) is ignored.
 */
export class IframeBridge {
  constructor(options = {}) {
    const params = typeof location !== "undefined" ? new URLSearchParams(location.search) : new URLSearchParams();
    // A sandboxed page has an opaque origin and cannot know its host's; the host passes it as
    // `parentOrigin` so the page can post to that origin only and check what it receives.
    this.parentOrigin = options.expectedParentOrigin || params.get("parentOrigin") || null;
    this.timeoutMs = options.timeoutMs || DEFAULT_TIMEOUT_MS;
    this.listeners = new Set();
    this.themeListeners = new Set();
    this.pending = new Map();
    this.themeTokens = {};
    this.bootstrap = null;
    this.lastHeight = -1;
    this.stopResize = null;
    this.bootstrapWaiters = [];
    this.onMessage = (event) => this.receive(event);
    if (typeof window !== "undefined") window.addEventListener("message", this.onMessage);
  }

  receive(event) {
    if (typeof window === "undefined" || event.source !== window.parent || window.parent === window) return;
    if (this.parentOrigin && event.origin !== this.parentOrigin) return;
    const data = event.data;
    if (!data || typeof data !== "object" || data.alga !== true || data.version !== ENVELOPE_VERSION) return;
    if (typeof data.type !== "string") return;
    const payload = data.payload && typeof data.payload === "object" ? data.payload : {};
    if (data.type === "bootstrap") {
      this.bootstrap = payload;
      this.setTheme(payload.theme_tokens);
      this.bootstrapWaiters.splice(0).forEach((resolve) => resolve(payload));
    } else if (data.type === "theme") {
      this.setTheme(payload.theme_tokens || payload);
    } else if (data.type === "apiproxy_response") {
      const waiter = this.pending.get(data.request_id);
      if (waiter) {
        this.pending.delete(data.request_id);
        waiter(payload);
      }
    }
    for (const listener of this.listeners) {
      try {
        listener(data);
      } catch (err) {
        console.error("[alga-page] listener failed", err);
      }
    }
  }

  setTheme(tokens) {
    if (!tokens || typeof tokens !== "object") return;
    this.themeTokens = { ...tokens };
    applyThemeTokens(tokens);
    for (const listener of this.themeListeners) listener(this.themeTokens);
  }

  /** Tells the host the page is ready; the host answers with `bootstrap`. */
  ready() {
    this.emitToHost("ready", {});
  }

  /** Subscribes to every host message; returns the unsubscribe function. */
  on(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `listener(tokens)` now (if a theme is known) and on every theme change. */
  onTheme(listener) {
    this.themeListeners.add(listener);
    if (Object.keys(this.themeTokens).length) listener(this.themeTokens);
    return () => this.themeListeners.delete(listener);
  }

  /** Resolves with the `bootstrap` payload (session, theme tokens, navigation). */
  whenBootstrapped() {
    if (this.bootstrap) return Promise.resolve(this.bootstrap);
    return new Promise((resolve) => this.bootstrapWaiters.push(resolve));
  }

  emitToHost(type, payload, requestId) {
    if (typeof window === "undefined" || window.parent === window) return;
    const message = { alga: true, version: ENVELOPE_VERSION, type, payload: payload || {} };
    if (requestId) message.request_id = requestId;
    // Without a known parent origin "*" is the only target that reaches the host; what is
    // sent (requests, sizes) is no secret, and answers are only accepted from window.parent.
    window.parent.postMessage(message, this.parentOrigin || "*");
  }

  /** Asks the host to route to the extension page `path` (e.g. `/tags/42`). */
  navigate(path) {
    this.emitToHost("navigate", { path: String(path) });
  }

  /** Reports the page's height; the host sets the frame's height (clamped to its bounds). */
  resize(height) {
    const rounded = Math.ceil(Number(height));
    if (!Number.isFinite(rounded) || rounded === this.lastHeight) return;
    this.lastHeight = rounded;
    this.emitToHost("resize", { height: rounded });
  }

  /**
   * Reports the height of `element` (default: the whole document) now and whenever it changes.
   * The document is measured at `<html>`, whose box holds the body's margins and the margins
   * of its children that collapse through it (the body's own box would miss those).
   */
  autoResize(element) {
    if (this.stopResize) this.stopResize();
    const target = element || document.documentElement;
    const measure = () => {
      if (target === document.documentElement) {
        this.resize(target.getBoundingClientRect().height);
        return;
      }
      const style = getComputedStyle(target);
      const margins = parseFloat(style.marginTop) + parseFloat(style.marginBottom);
      this.resize(target.getBoundingClientRect().height + (Number.isFinite(margins) ? margins : 0));
    };
    measure();
    if (typeof ResizeObserver === "undefined") {
      this.stopResize = () => {};
      return this.stopResize;
    }
    const observer = new ResizeObserver(measure);
    observer.observe(target);
    this.stopResize = () => {
      observer.disconnect();
      this.stopResize = null;
    };
    return this.stopResize;
  }

  /** Calls the extension's endpoint `route` through the host; resolves with the body's bytes. */
  callProxy(route, body, options = {}) {
    const method = String(options.method || (body ? "POST" : "GET")).toUpperCase();
    if (!PROXY_METHODS.has(method)) return Promise.reject(new HandlerError("INVALID_METHOD", `unsupported method ${method}`));
    if (typeof route !== "string" || !route.startsWith("/")) {
      return Promise.reject(new HandlerError("INVALID_ROUTE", "route must be a string starting with `/`"));
    }
    const bytes = encodeBody(body);
    if (method === "GET" && bytes && bytes.length) {
      return Promise.reject(new HandlerError("INVALID_BODY", "GET requests cannot include a body"));
    }
    const requestId = randomId();
    const timeoutMs = options.timeoutMs || this.timeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new HandlerError("TIMEOUT", `no answer from the host within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(requestId, (payload) => {
        clearTimeout(timer);
        let answer;
        try {
          answer = payload.body ? fromBase64(payload.body) : new Uint8Array(0);
        } catch (_) {
          reject(new HandlerError("INVALID_RESPONSE", "the host's answer is not base64"));
          return;
        }
        if (payload.error) reject(proxyError(payload.error, answer));
        else resolve(answer);
      });
      const message = { route, method };
      if (bytes && bytes.length) message.body = toBase64(bytes);
      this.emitToHost("apiproxy", message, requestId);
    });
  }

  /** Alga's name for `callProxy`. */
  get uiProxy() {
    const call = this.callProxy.bind(this);
    return { callRoute: call, call };
  }

  /** Calls an endpoint; resolves with the answer's bytes. */
  callHandler(path, options = {}) {
    return this.callProxy(path, options.body, options);
  }

  /** Calls an endpoint with a JSON body; resolves with the parsed JSON answer (`null` when empty). */
  async callHandlerJson(path, options = {}) {
    const bytes = await this.callHandler(path, options);
    const text = new TextDecoder().decode(bytes);
    return text.length ? JSON.parse(text) : null;
  }

  getThemeTokens() {
    return this.themeTokens;
  }

  getSession() {
    return this.bootstrap ? this.bootstrap.session || null : null;
  }

  /** Stops listening, resizing and rejects calls still waiting. */
  destroy() {
    if (typeof window !== "undefined") window.removeEventListener("message", this.onMessage);
    if (this.stopResize) this.stopResize();
    for (const waiter of this.pending.values()) waiter({ error: { code: "DESTROYED", message: "the bridge was destroyed" } });
    this.pending.clear();
  }
}

let defaultBridge = null;

/**
 * The page's bridge (one per page): sends `ready` and starts auto-resize unless told not to.
 * Later calls answer the same bridge.
 */
export function createBridge(options = {}) {
  if (defaultBridge) return defaultBridge;
  defaultBridge = new IframeBridge(options);
  // `<html>` exists from the start; the observer reports again as the rest of the page loads.
  if (options.autoResize !== false && typeof document !== "undefined") defaultBridge.autoResize();
  if (options.ready !== false) defaultBridge.ready();
  return defaultBridge;
}

function bridgeAndArgs(args) {
  // Both `callHandler(path, options)` (the page's bridge) and Alga's `callHandlerJson(bridge,
  // path, options)` (a bridge or a `uiProxy`) are accepted.
  if (typeof args[0] === "string") return [createBridge(), args[0], args[1] || {}];
  const target = args[0];
  if (target instanceof IframeBridge) return [target, args[1], args[2] || {}];
  const proxy = target && target.uiProxy ? target.uiProxy : target;
  const call = proxy && (proxy.callRoute || proxy.call);
  if (typeof call !== "function") throw new TypeError("expected a path, an IframeBridge or a uiProxy");
  const shim = { callHandler: (path, options) => call.call(proxy, path, encodeBody(options.body), options) };
  return [shim, args[1], args[2] || {}];
}

/** `callHandler(path, {method, body})` → the answer's bytes (`Uint8Array`). */
export function callHandler(...args) {
  const [bridge, path, options] = bridgeAndArgs(args);
  return bridge.callHandler(path, options);
}

/** `callHandlerJson(path, {method, body})` or Alga's `callHandlerJson(bridge, path, options)` → JSON. */
export async function callHandlerJson(...args) {
  const [bridge, path, options] = bridgeAndArgs(args);
  const bytes = await bridge.callHandler(path, options);
  const text = new TextDecoder().decode(bytes);
  return text.length ? JSON.parse(text) : null;
}

/** Calls `listener(tokens)` on the page's bridge's theme now and on every change. */
export function onTheme(listener) {
  return createBridge().onTheme(listener);
}

/** Asks the host to show the extension page `path`. */
export function navigate(path) {
  createBridge().navigate(path);
}

/** Starts (or restarts) auto-resize on `element`; returns the stop function. */
export function autoResize(element) {
  return createBridge().autoResize(element);
}
