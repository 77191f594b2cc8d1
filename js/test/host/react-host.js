//! The browser tests' React host page: the Host SDK's React bindings rendering slots and a page, driven by the runner.
import { createElement as h, render, useState } from "react";
import { createHost } from "../../host/alga-host.js";
import { AlgaHostProvider, ExtensionPage, ExtensionSlot } from "../../host/react.js";

const config = JSON.parse(decodeURIComponent(location.hash.slice(1)));
const host = createHost({ baseUrl: config.runtime, getToken: () => config.token, readyTimeoutMs: config.readyTimeoutMs });
const seen = (window.reactTest = { ready: [] });

function App() {
  const [path, setPath] = useState("/board");
  return h(
    AlgaHostProvider,
    { host },
    h("nav", { id: "nav" }, h(ExtensionSlot, { name: "navigation", onRendered: (result) => (seen.nav = result.renderMs) })),
    h(
      "main",
      null,
      h("section", { id: "dashboard" }, h(ExtensionSlot, { name: "dashboard", onRendered: (result) => (seen.dashboard = result.renderMs) })),
      h(
        "div",
        { className: "pages" },
        h(
          "section",
          { id: "page" },
          h(ExtensionPage, {
            extensionId: config.extensionId,
            path,
            // The host's router: the page asked for another path, the host re-renders with it.
            onNavigate: (next) => setPath(next),
            onReady: (metrics) => seen.ready.push({ path, ...metrics }),
          }),
        ),
        // A slot name that does not exist: its error boundary must keep the failure in here.
        h("section", { id: "broken" }, h(ExtensionSlot, { name: "sidebar" })),
      ),
    ),
  );
}

render(h(App), document.getElementById("root"));
