// __NAME__'s page script: a ticket's checklist through the extension's endpoints (via the host, never holding a token).
import { callHandlerJson, createBridge } from "./vendor/alga-page.js";
import { AlgaToast } from "./vendor/alga-ui.js";

const card = document.getElementById("card");
const list = document.getElementById("items");
const ticketField = document.getElementById("ticket");
const textField = document.getElementById("text");
let ticketId = "";

const path = (suffix = "") => `/tickets/${encodeURIComponent(ticketId)}/items${suffix}`;

function render(body) {
  card.hidden = false;
  const title = `Checklist of ${body.ticket.title ?? body.ticket.id}`;
  card.setAttribute("label", title);
  document.getElementById("card-title").textContent = title;
  list.textContent = "";
  for (const item of body.items) {
    const row = document.createElement("li");
    const box = document.createElement("alga-checkbox");
    // The element's text is its label.
    box.textContent = item.text;
    if (item.done) box.setAttribute("checked", "");
    box.addEventListener("change", () => tick(item, box));
    row.appendChild(box);
    list.appendChild(row);
  }
  if (!body.items.length) list.textContent = "No items yet.";
}

async function load() {
  try {
    render(await callHandlerJson(path()));
  } catch (error) {
    AlgaToast.show(`Could not open ticket ${ticketId}: ${error.message}`, { tone: "danger" });
  }
}

async function tick(item, box) {
  try {
    await callHandlerJson(path(`/${encodeURIComponent(item.id)}/done`), { method: "POST" });
    AlgaToast.show(`“${item.text}” is done.`, { tone: "success" });
  } catch (error) {
    box.removeAttribute("checked");
    AlgaToast.show(`Could not tick it: ${error.message}`, { tone: "danger" });
  }
}

document.getElementById("pick").addEventListener("submit", (event) => {
  event.preventDefault();
  ticketId = ticketField.value.trim();
  if (ticketId) load();
});

document.getElementById("add").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await callHandlerJson(path(), { method: "POST", body: { text: textField.value.trim() } });
    textField.value = "";
    await load();
  } catch (error) {
    AlgaToast.show(`Could not add it: ${error.message}`, { tone: "danger" });
  }
});

createBridge();
