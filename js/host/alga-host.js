//! The Host SDK: what a PSA front end uses to show extensions — navigation, dashboard widgets and framed pages.
//
// Dependency-free ES module. It fetches the signed-in user's extension points from the runtime,
// renders them, frames pages in sandboxed iframes and answers their v1-envelope messages
// (`frames.js`). React bindings live in `react.js`, so this file needs nothing.

import { FrameRegistry, errorCard } from "./frames.js";

const DEFAULTS = {
  baseUrl: "",
  readyTimeoutMs: 5000,
  minHeight: 80,
  maxHeight: 4000,
  sandbox: "allow-scripts allow-forms",
  themeTokens: {},
};

/** A failed runtime call, carrying the API's `{ error: { code, message, details } }`. */
export class RuntimeError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = "RuntimeError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/**
 * Creates a host. `options.baseUrl` is the runtime's base URL ("" when it is proxied under the
 * host's own origin); `options.fetch` is a fetch-like function that adds the user's session,
 * or `options.getToken` an (async) function answering the user's runtime JWT.
 */
export function createHost(options = {}) {
  return new AlgaHost(options);
}

export class AlgaHost {
  constructor(options = {}) {
    this.options = { ...DEFAULTS, ...options };
    this.baseUrl = String(this.options.baseUrl || "").replace(/\/+$/, "");
    this.themeTokens = { ...this.options.themeTokens };
    this.frames = new FrameRegistry(this);
    this.session = null;
  }

  /** An absolute URL of the runtime for `path` (a relative URL the runtime answered, say). */
  url(path) {
    const base = this.baseUrl || (typeof location !== "undefined" ? location.origin : "");
    return new URL(path, base + "/").href;
  }

  /** Calls the runtime as the signed-in user; answers the parsed JSON or throws a `RuntimeError`. */
  async request(path, init = {}) {
    const headers = new Headers(init.headers || {});
    if (this.options.getToken) {
      const token = await this.options.getToken();
      if (token) headers.set("authorization", `Bearer ${token}`);
    }
    const doFetch = this.options.fetch || globalThis.fetch.bind(globalThis);
    let response;
    try {
      response = await doFetch(this.url(path), { ...init, headers });
    } catch (err) {
      throw new RuntimeError(0, "NETWORK_ERROR", `the extension runtime is unreachable: ${err.message || err}`);
    }
    const text = await response.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch (_) {
      body = null;
    }
    if (!response.ok) {
      const error = (body && body.error) || {};
      throw new RuntimeError(response.status, error.code || `HTTP_${response.status}`, error.message || `the runtime answered ${response.status}`, error.details);
    }
    return body;
  }

  /** The signed-in user's navigation items (`pageUrl` made absolute). */
  async navigation() {
    const body = await this.request("/api/ui/navigation");
    return (body.items || []).map((item) => ({ ...item, pageUrl: item.pageUrl ? this.url(item.pageUrl) : item.pageUrl }));
  }

  /** The signed-in user's dashboard widgets (a frame widget's `url` made absolute). */
  async dashboard() {
    const body = await this.request("/api/ui/dashboard");
    return (body.widgets || []).map((widget) => (widget.url ? { ...widget, url: this.url(widget.url) } : widget));
  }

  /** One widget afresh (for `refreshSeconds`). */
  async widget(extensionId, widgetId) {
    const widget = await this.request(`/api/ui/dashboard/${encodeURIComponent(extensionId)}/${encodeURIComponent(widgetId)}`);
    return widget.url ? { ...widget, url: this.url(widget.url) } : widget;
  }

  /** The descriptor of an extension page: `kind`, `title` and the `url` to frame (absolute). */
  async page(extensionId, path) {
    const clean = String(path || "/").replace(/^\/+/, "");
    const body = await this.request(`/api/ui/pages/${encodeURIComponent(extensionId)}/${clean}`);
    return { ...body, url: this.url(body.url) };
  }

  /** `tenant` and `user` of the signed-in user (from `GET /v1/me`, asked once), for `bootstrap`. */
  async sessionInfo() {
    if (this.options.session) return this.options.session;
    if (!this.session) {
      this.session = this.request("/v1/me").then(
        (me) => ({ tenant: me.tenant, user: me.user || me.sub }),
        () => ({}),
      );
    }
    return this.session;
  }

  /** Sends the theme's `--alga-*` tokens to every mounted frame (and future ones). */
  setTheme(tokens) {
    this.themeTokens = { ...tokens };
    this.frames.broadcastTheme(this.themeTokens);
  }

  /**
   * Renders the navigation items into `container` as links; `onSelect(item)` is called on a
   * click (the host routes to the page). Answers `{ items, renderMs }`.
   */
  async renderNavigation(container, { onSelect } = {}) {
    const started = now();
    let items;
    try {
      items = await this.navigation();
    } catch (err) {
      container.replaceChildren(errorCard("Extensions could not be loaded", err));
      return { items: [], renderMs: now() - started, error: err };
    }
    const list = document.createElement("ul");
    list.className = "alga-ext-nav";
    for (const item of items) {
      const entry = document.createElement("li");
      const link = document.createElement("a");
      link.href = `#/extensions/${encodeURIComponent(item.extensionKey)}${item.path}`;
      link.textContent = item.label;
      link.dataset.extensionId = item.extensionId;
      link.dataset.itemId = item.id;
      link.addEventListener("click", (event) => {
        if (!onSelect) return;
        event.preventDefault();
        onSelect(item);
      });
      entry.appendChild(link);
      list.appendChild(entry);
    }
    container.replaceChildren(list);
    return { items, renderMs: now() - started };
  }

  /**
   * Renders the dashboard widgets into `container`: data widgets through `renderData(widget,
   * element)` (a generic list by default), frame widgets in sandboxed iframes, failed widgets
   * as contained error cards. Answers `{ widgets, renderMs }`.
   */
  async renderDashboard(container, { renderData = defaultRenderData } = {}) {
    const started = now();
    let widgets;
    try {
      widgets = await this.dashboard();
    } catch (err) {
      container.replaceChildren(errorCard("Widgets could not be loaded", err));
      return { widgets: [], renderMs: now() - started, error: err };
    }
    // Frames of an earlier render of this dashboard are gone with it.
    this.frames.unmountWithin(container);
    const cards = widgets.map((widget) => {
      const card = document.createElement("section");
      card.className = `alga-ext-widget alga-ext-widget-${widget.size || "medium"}`;
      card.dataset.extensionId = widget.extensionId;
      card.dataset.widgetId = widget.id;
      const title = document.createElement("h3");
      title.textContent = widget.title;
      const body = document.createElement("div");
      card.append(title, body);
      if (widget.state === "error") {
        body.appendChild(errorCard("This widget failed", new RuntimeError(0, widget.code, widget.message)));
      } else if (widget.kind === "frame") {
        this.frames.mount(body, { extensionId: widget.extensionId, url: widget.url, title: widget.title, path: "/" });
      } else {
        try {
          renderData(widget, body);
        } catch (err) {
          body.replaceChildren(errorCard("This widget could not be shown", err));
        }
      }
      return card;
    });
    container.replaceChildren(...cards);
    return { widgets, renderMs: now() - started };
  }

  /**
   * Frames the extension page `path` in `container`. Answers a handle: `ready` (a promise of
   * the mount→ready milliseconds), `navigate(path)`, `destroy()`. A page the user may not open,
   * or one not `ready` within `readyTimeoutMs`, becomes an error card inside `container`.
   */
  mountPage(container, { extensionId, path = "/", onNavigate } = {}) {
    return this.frames.mountPage(container, { extensionId, path, onNavigate });
  }

  /** Removes what was rendered or mounted into `container` (its frames stop being answered). */
  clear(container) {
    this.frames.unmountWithin(container);
    container.replaceChildren();
  }

  /** Stops listening for messages and removes every frame this host mounted. */
  destroy() {
    this.frames.destroy();
  }
}

/** The default data-widget renderer: a list of `name`/`label`/`title` fields, or the JSON. */
export function defaultRenderData(widget, element) {
  const data = widget.data;
  const rows = Array.isArray(data) ? data : data && typeof data === "object" ? Object.values(data).find(Array.isArray) : null;
  if (rows) {
    const list = document.createElement("ul");
    for (const row of rows) {
      const item = document.createElement("li");
      item.textContent = row && typeof row === "object" ? String(row.name ?? row.label ?? row.title ?? JSON.stringify(row)) : String(row);
      list.appendChild(item);
    }
    if (!rows.length) list.textContent = "Nothing yet.";
    element.replaceChildren(list);
    return;
  }
  const pre = document.createElement("pre");
  pre.textContent = JSON.stringify(data, null, 2);
  element.replaceChildren(pre);
}

function now() {
  return typeof performance !== "undefined" ? performance.now() : Date.now();
}
