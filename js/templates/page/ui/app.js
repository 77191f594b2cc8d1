// __NAME__'s page script: asks its endpoints through the host (never holding a token) and follows the host's theme.
import { callHandlerJson, createBridge } from "./vendor/alga-page.js";
import { AlgaToast } from "./vendor/alga-ui.js";

const loading = document.getElementById("loading");
const greeting = document.getElementById("greeting");
const visit = document.getElementById("visit");

function show(body) {
  loading.hidden = true;
  greeting.hidden = false;
  greeting.textContent = `${body.text} Visits so far: ${body.visits}.`;
}

visit.addEventListener("click", async () => {
  try {
    const { visits } = await callHandlerJson("/visits", { method: "POST" });
    greeting.textContent = greeting.textContent.replace(/Visits so far: \d+\./, `Visits so far: ${visits}.`);
    AlgaToast.show(`Visit ${visits} counted.`, { tone: "success" });
  } catch (error) {
    AlgaToast.show(`Could not count the visit: ${error.message}`, { tone: "danger" });
  }
});

// The bridge answers the host's bootstrap (theme, user) and keeps the frame's height right.
createBridge();
callHandlerJson("/greeting").then(show, (error) => {
  loading.hidden = true;
  AlgaToast.show(`Could not load the greeting: ${error.message}`, { tone: "danger" });
});
