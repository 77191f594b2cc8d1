//! The Host SDK's frames: sandboxed iframes for extension pages and frame widgets, and the host's end of the v1 envelope.
//
// Every message is matched to a frame by `event.source` (the iframe's window) and then by
// `event.origin`. A frame sandboxed without `allow-same-origin` (the default), and every page
// the runtime serves (its CSP has `sandbox`), has an opaque origin, so its messages carry the
// origin "null": the window identity is what tells frames apart, and the host posts to that
// window only (with target "*", the only target an opaque origin accepts).

const ENVELOPE_VERSION = "1";
const PROXY_METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE"]);
const MAX_ROUTE_LENGTH = 4096;

/** A contained error card: what the user sees instead of a failed extension. */
export function errorCard(title, error, retry) {
  const card = document.createElement("div");
  card.className = "alga-ext-error";
  card.setAttribute("role", "alert");
  if (error && error.code) card.dataset.code = error.code;
  const heading = document.createElement("strong");
  heading.textContent = title;
  const detail = document.createElement("p");
  detail.textContent = error ? String(error.message || error) : "";
  card.append(heading, detail);
  if (retry) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Retry";
    button.addEventListener("click", retry);
    card.appendChild(button);
  }
  return card;
}

function now() {
  return performance.now();
}

function frameUrl(url) {
  const parsed = new URL(url);
  // Tells the page whom to talk to: a sandboxed page cannot learn its parent's origin itself.
  parsed.searchParams.set("parentOrigin", location.origin);
  return parsed.href;
}

export class FrameRegistry {
  constructor(host) {
    this.host = host;
    this.records = new Set();
    this.onMessage = (event) => this.receive(event);
    window.addEventListener("message", this.onMessage);
  }

  /**
   * Frames `url` in `container` and waits for the page's `ready`. Answers the frame's record;
   * `record.ready` resolves with the mount→ready milliseconds or rejects on failure.
   */
  mount(container, { extensionId, url, title, path, onNavigate, retry }) {
    const options = this.host.options;
    const iframe = document.createElement("iframe");
    const sandbox = String(options.sandbox);
    const sameOrigin = sandbox.split(/\s+/).includes("allow-same-origin");
    iframe.setAttribute("sandbox", sandbox);
    iframe.setAttribute("referrerpolicy", "no-referrer");
    iframe.title = title || "Extension";
    iframe.className = "alga-ext-frame";
    iframe.style.cssText = `border:0;width:100%;display:block;height:${options.minHeight}px`;
    const record = {
      iframe,
      container,
      extensionId,
      path,
      onNavigate,
      retry,
      // "null" always; the URL's origin too when the host allows same-origin frames and the
      // page is not sandboxed by its own CSP (the runtime's pages always are).
      origins: sameOrigin ? ["null", new URL(url).origin] : ["null"],
      targetOrigin: "*",
      mountedAt: now(),
      state: "loading",
    };
    record.ready = new Promise((resolve, reject) => {
      record.resolve = resolve;
      record.reject = reject;
    });
    // A failure is shown in the card; callers that never look at `ready` must not see an
    // unhandled rejection.
    record.ready.catch(() => {});
    record.timer = setTimeout(() => {
      this.fail(record, { code: "EXTENSION_NOT_READY", message: `The extension did not answer within ${options.readyTimeoutMs} ms.` });
    }, options.readyTimeoutMs);
    iframe.src = frameUrl(url);
    this.records.add(record);
    container.replaceChildren(iframe);
    return record;
  }

  /** Resolves the page's descriptor, then frames it; `navigate` swaps in another page. */
  mountPage(container, { extensionId, path, onNavigate }) {
    const handle = { extensionId, path, metrics: {}, record: null, destroyed: false };
    const load = (pagePath) => {
      handle.path = pagePath;
      if (handle.record) this.unmount(handle.record);
      const started = now();
      const loading = document.createElement("div");
      loading.className = "alga-ext-loading";
      loading.textContent = "Loading…";
      container.replaceChildren(loading);
      handle.ready = this.host.page(extensionId, pagePath).then(
        (descriptor) => {
          if (handle.destroyed) return Promise.reject(new Error("unmounted"));
          handle.descriptor = descriptor;
          const navigate = (next) => (onNavigate ? onNavigate(next, { extensionId }) : load(next));
          handle.record = this.mount(container, {
            extensionId,
            url: descriptor.url,
            title: descriptor.title,
            path: pagePath,
            onNavigate: navigate,
            retry: () => load(pagePath),
          });
          return handle.record.ready.then((mountToReadyMs) => {
            handle.metrics = { descriptorMs: handle.record.mountedAt - started, mountToReadyMs, totalMs: now() - started };
            return handle.metrics;
          });
        },
        (error) => {
          if (!handle.destroyed) container.replaceChildren(errorCard("This page could not be opened", error, () => load(pagePath)));
          throw error;
        },
      );
      handle.ready.catch(() => {});
      return handle.ready;
    };
    handle.navigate = load;
    handle.destroy = () => {
      handle.destroyed = true;
      if (handle.record) this.unmount(handle.record);
      container.replaceChildren();
    };
    load(path);
    return handle;
  }

  fail(record, error) {
    if (record.state !== "loading") return;
    record.state = "failed";
    clearTimeout(record.timer);
    this.records.delete(record);
    record.container.replaceChildren(errorCard("This extension is not responding", error, record.retry));
    record.reject(Object.assign(new Error(error.message), { code: error.code }));
  }

  unmount(record) {
    clearTimeout(record.timer);
    this.records.delete(record);
    if (record.state === "loading") {
      record.state = "unmounted";
      record.reject(Object.assign(new Error("unmounted"), { code: "UNMOUNTED" }));
    }
    record.iframe.remove();
  }

  unmountWithin(container) {
    for (const record of [...this.records]) {
      if (container.contains(record.container)) this.unmount(record);
    }
  }

  find(source) {
    if (!source) return null;
    for (const record of this.records) {
      if (record.iframe.contentWindow === source) return record;
    }
    return null;
  }

  receive(event) {
    const record = this.find(event.source);
    // Not one of our frames (another window, a frame we did not mount, the host itself).
    if (!record || !record.origins.includes(event.origin)) return;
    const data = event.data;
    if (!data || typeof data !== "object" || data.alga !== true || data.version !== ENVELOPE_VERSION) return;
    const payload = data.payload && typeof data.payload === "object" ? data.payload : {};
    switch (data.type) {
      case "ready":
        return this.ready(record, event.origin);
      case "resize":
        return this.resize(record, payload.height);
      case "navigate":
        if (typeof payload.path === "string" && payload.path.startsWith("/") && payload.path.length <= MAX_ROUTE_LENGTH && record.onNavigate) {
          record.onNavigate(payload.path);
        }
        return;
      case "apiproxy":
        return this.apiproxy(record, data.request_id, payload);
      default:
        // Unknown types (a newer page, another protocol) are ignored, never an error.
        return;
    }
  }

  async ready(record, origin) {
    // Answers go to the origin the page announced itself from ("*" reaches an opaque one).
    record.targetOrigin = origin === "null" ? "*" : origin;
    if (record.state === "loading") {
      record.state = "ready";
      clearTimeout(record.timer);
      record.readyAt = now();
      record.resolve(record.readyAt - record.mountedAt);
    }
    // A page that reloads itself sends `ready` again and gets a fresh bootstrap.
    const session = await this.host.sessionInfo();
    this.post(record, "bootstrap", {
      session,
      theme_tokens: this.host.themeTokens,
      navigation: { path: record.path || "/" },
    });
  }

  resize(record, height) {
    const value = Number(height);
    if (!Number.isFinite(value)) return;
    const { minHeight, maxHeight } = this.host.options;
    record.iframe.style.height = `${Math.round(Math.min(maxHeight, Math.max(minHeight, value)))}px`;
  }

  async apiproxy(record, requestId, payload) {
    if (typeof requestId !== "string" || !requestId || requestId.length > 128) return;
    const method = String(payload.method || "GET").toUpperCase();
    const route = payload.route;
    let answer;
    if (typeof route !== "string" || !route.startsWith("/") || route.length > MAX_ROUTE_LENGTH) {
      answer = { error: { code: "INVALID_MESSAGE", message: "route must be a string starting with `/`" } };
    } else if (!PROXY_METHODS.has(method)) {
      answer = { error: { code: "INVALID_MESSAGE", message: `method ${method} is not allowed` } };
    } else if (payload.body !== undefined && typeof payload.body !== "string") {
      answer = { error: { code: "INVALID_MESSAGE", message: "body must be a base64 string" } };
    } else {
      try {
        const message = { route, method };
        if (payload.body) message.body = payload.body;
        answer = await this.host.request(`/api/ui/apiproxy/${encodeURIComponent(record.extensionId)}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(message),
        });
      } catch (err) {
        answer = { error: { code: err.code || "HOST_ERROR", message: err.message, status: err.status } };
      }
    }
    if (this.records.has(record)) this.post(record, "apiproxy_response", answer, requestId);
  }

  post(record, type, payload, requestId) {
    const target = record.iframe.contentWindow;
    if (!target) return;
    const message = { alga: true, version: ENVELOPE_VERSION, type, payload };
    if (requestId) message.request_id = requestId;
    target.postMessage(message, record.targetOrigin);
  }

  broadcastTheme(tokens) {
    for (const record of this.records) {
      if (record.state === "ready") this.post(record, "theme", { theme_tokens: tokens });
    }
  }

  destroy() {
    window.removeEventListener("message", this.onMessage);
    for (const record of [...this.records]) this.unmount(record);
  }
}
