//! The tag board: lists the extension's tags and adds new ones through the host (Page SDK `apiproxy`), never holding a token; drawn with the UI components.
import { callHandlerJson, createBridge, navigate } from "./alga-page.js";
import { AlgaToast } from "./alga-ui.js";

const list = document.getElementById("tags");
const loading = document.getElementById("loading");
const statusLine = document.getElementById("status");
const form = document.getElementById("add-tag");
const nameField = document.getElementById("tag-name");
const addButton = document.getElementById("add");

/** Dark or white text, whichever reads better on a tag's color (the palettes run from pastel to near-black). */
function textOn(color) {
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(color || ""));
  if (!hex) return "";
  const digits = hex[1].length === 3 ? [...hex[1]].map((c) => c + c).join("") : hex[1];
  const [r, g, b] = [0, 2, 4].map((i) => Number.parseInt(digits.slice(i, i + 2), 16));
  return (r * 299 + g * 587 + b * 114) / 1000 > 140 ? "#111827" : "#ffffff";
}

function render(tags) {
  loading.hidden = true;
  list.textContent = "";
  for (const tag of tags) {
    const item = document.createElement("li");
    item.textContent = tag.name;
    item.style.background = tag.color;
    item.style.color = textOn(tag.color);
    list.appendChild(item);
  }
  statusLine.hidden = tags.length > 0;
  statusLine.textContent = tags.length ? "" : "No tags yet.";
}

function showLoadError(error) {
  loading.hidden = true;
  const alert = document.createElement("alga-alert");
  alert.setAttribute("tone", "danger");
  alert.textContent = `Could not load the tags: ${error.message}`;
  list.replaceWith(alert);
}

async function load() {
  const body = await callHandlerJson("/tags");
  render((body && body.tags) || []);
}

/** What a refused or failed add means for the user, in words. */
function addFailure(error) {
  if (error.code === "FORBIDDEN") return "You may not add tags: that needs the manage permission. Ask an administrator.";
  return `The tag could not be added: ${error.message}`;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = nameField.value.trim();
  // `required` catches an empty field; only spaces would pass it, and the server refuses them.
  if (!name) {
    nameField.setAttribute("error", "A tag name needs at least one letter or digit.");
    nameField.focus();
    return;
  }
  nameField.removeAttribute("error");
  addButton.disabled = true;
  try {
    const tag = await callHandlerJson("/tags", { method: "POST", body: { name } });
    AlgaToast.show(`Tag "${tag.name}" added.`, { tone: "success" });
    form.reset();
    await load();
  } catch (error) {
    AlgaToast.show(addFailure(error), { tone: "danger" });
  } finally {
    addButton.disabled = false;
  }
});

// The host opens the tag list page itself (its own router), the board only asks for it.
document.getElementById("open-list").addEventListener("click", (event) => {
  event.preventDefault();
  navigate("/tags");
});

// `ready` and auto-resize start here; calls wait for the host's `bootstrap`.
createBridge().whenBootstrapped().then(load).catch(showLoadError);
