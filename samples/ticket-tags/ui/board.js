//! The tag board: a static page that lists the extension's tags through the host (Page SDK `apiproxy`), never holding a token.
import { callHandlerJson, createBridge, navigate } from "./alga-page.js";

const statusLine = document.getElementById("status");
const list = document.getElementById("tags");

function render(tags) {
  list.textContent = "";
  for (const tag of tags) {
    const item = document.createElement("li");
    item.textContent = tag.name;
    item.style.background = tag.color;
    list.appendChild(item);
  }
  statusLine.textContent = tags.length ? "" : "No tags yet.";
}

// The host opens the tag list page itself (its own router), the board only asks for it.
document.getElementById("open-list").addEventListener("click", (event) => {
  event.preventDefault();
  navigate("/tags");
});

// `ready` and auto-resize start here; calls wait for the host's `bootstrap`.
const bridge = createBridge();
bridge
  .whenBootstrapped()
  .then(() => callHandlerJson("/tags"))
  .then((body) => render((body && body.tags) || []))
  .catch((error) => {
    statusLine.textContent = `Could not load tags: ${error.message}`;
  });
