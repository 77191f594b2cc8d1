//! The UI components' fixture page script: defines the elements, wires the demo actions and records what happened for the browser suite.
import { createBridge } from "/page/alga-page.js";
import { AlgaToast, setColorScheme } from "/ui/alga-ui.js";

// Framed by a host, the Page SDK sets the theme tokens the components are styled with.
createBridge();

const log = document.getElementById("log");
const events = [];
const record = (what) => {
  events.push(what);
  log.textContent = what;
};
document.getElementById("save").addEventListener("click", () => record("save"));
document.getElementById("off").addEventListener("click", () => record("disabled clicked"));
document.getElementById("open-dialog").addEventListener("click", () => document.getElementById("dialog").show());
document.getElementById("dialog").addEventListener("close", (event) => record(`dialog closed: ${event.detail.returnValue}`));
document.getElementById("tabs").addEventListener("change", (event) => record(`tab ${event.detail.index}`));
document.getElementById("ticket-form").addEventListener("submit", (event) => {
  event.preventDefault();
  record(`submitted ${JSON.stringify([...new FormData(event.target)])}`);
});
document.getElementById("ticket-form").addEventListener("reset", () => record("reset"));
document.getElementById("priority").addEventListener("change", (event) => record(`priority ${event.target.value}`));
document.getElementById("toast-success").addEventListener("click", () => AlgaToast.show("Ticket saved.", { tone: "success", timeout: 0 }));
document.getElementById("toast-danger").addEventListener("click", () => AlgaToast.show("The ticket could not be saved: the server is away.", { tone: "danger", title: "Save failed" }));
document.addEventListener("dismiss", (event) => {
  if (event.target.localName === "alga-toast") record(`toast dismissed: ${event.detail.reason}`);
});

// What the suite drives: the event log, the color scheme, and the theme tokens as the Page SDK sets them.
window.uiTest = { events, setColorScheme, AlgaToast };
document.body.dataset.ready = "1";
