// Notifications: every action ends in one, announced by an aria-live region and dismissed by time or by its button.
import { html, useEffect, useState } from "./lib.js";

/** How long a notification stays: errors longer, since they need reading. */
const SHOW_MS = { success: 6000, error: 12000 };

let nextId = 1;
let toasts = [];
const listeners = new Set();

function publish(next) {
  toasts = next;
  for (const listener of listeners) listener(toasts);
}

export function dismiss(id) {
  publish(toasts.filter((t) => t.id !== id));
}

/** Shows `message`; `tone` is "success" or "error". */
export function notify(message, tone = "success") {
  const id = nextId++;
  publish([...toasts, { id, message, tone }]);
  setTimeout(() => dismiss(id), SHOW_MS[tone] || SHOW_MS.success);
}

/**
 * The two live regions, present from the first render so that screen readers announce what
 * is added later: polite for confirmations, assertive (role=alert) for failures.
 */
export function Toasts() {
  const [list, setList] = useState(toasts);
  useEffect(() => {
    listeners.add(setList);
    return () => listeners.delete(setList);
  }, []);
  const item = (t) =>
    html`<div class=${`toast toast--${t.tone}`} key=${t.id} data-tone=${t.tone}>
      <p>${t.message}</p>
      <button type="button" class="toast__close" aria-label="Dismiss notification" onClick=${() => dismiss(t.id)}>×</button>
    </div>`;
  return html`<div class="toasts">
    <div role="status" aria-live="polite" class="toasts__region">${list.filter((t) => t.tone !== "error").map(item)}</div>
    <div role="alert" aria-live="assertive" class="toasts__region">${list.filter((t) => t.tone === "error").map(item)}</div>
  </div>`;
}
