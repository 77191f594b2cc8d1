//! The browser tests' host page: the Host SDK wired the way a PSA front end would, plus hooks the runner drives.
import { createHost } from "../../host/alga-host.js";

// Test-only configuration in the fragment (never sent to a server): the runtime's base URL,
// the user's token and the ready timeout. A real host gets the token from its session.
const config = JSON.parse(decodeURIComponent(location.hash.slice(1)));
const host = createHost({
  baseUrl: config.runtime,
  getToken: () => config.token,
  readyTimeoutMs: config.readyTimeoutMs,
  ...(config.sandbox ? { sandbox: config.sandbox } : {}),
  themeTokens: { "--alga-primary": "rgb(37, 99, 235)", "--alga-bg": "rgb(255, 255, 255)" },
});
const pages = {};

window.hostMarker = Math.random();
window.hostTest = {
  host,
  async renderNav() {
    const result = await host.renderNavigation(document.getElementById("nav"), {
      onSelect: (item) => window.hostTest.open("page", item.extensionId, item.path),
    });
    return { labels: result.items.map((item) => item.label), renderMs: result.renderMs, error: result.error && result.error.code };
  },
  async renderDashboard() {
    const result = await host.renderDashboard(document.getElementById("dashboard"));
    return { ids: result.widgets.map((w) => w.id), renderMs: result.renderMs };
  },
  open(slot, extensionId, path) {
    if (pages[slot]) pages[slot].destroy();
    pages[slot] = host.mountPage(document.getElementById(slot), { extensionId, path });
    return pages[slot].ready.then(
      (metrics) => ({ ok: true, metrics }),
      (error) => ({ ok: false, code: error.code || error.message }),
    );
  },
  ready(slot) {
    return pages[slot].ready.then(
      (metrics) => ({ ok: true, metrics }),
      (error) => ({ ok: false, code: error.code || error.message }),
    );
  },
  frame(slot, extensionId, url) {
    // Any page can be framed; this one is served by the test server, not the runtime.
    const record = host.frames.mount(document.getElementById(slot), { extensionId, url, path: "/" });
    return record.ready.then(
      (mountToReadyMs) => ({ ok: true, mountToReadyMs }),
      (error) => ({ ok: false, code: error.code || error.message }),
    );
  },
  current(slot) {
    return pages[slot] ? pages[slot].path : null;
  },
  setTheme(tokens) {
    host.setTheme(tokens);
  },
  addForger(url) {
    const frame = document.createElement("iframe");
    frame.src = url;
    frame.title = "forger";
    document.getElementById("forgers").appendChild(frame);
  },
};
// Opened by hand (`"auto": true` in the fragment): show everything the user may see at once.
if (config.auto) {
  window.hostTest.renderNav();
  window.hostTest.renderDashboard();
}
document.body.dataset.ready = "1";
