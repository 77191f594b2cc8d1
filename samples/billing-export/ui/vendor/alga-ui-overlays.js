//! The Alga UI components that float above the page: the modal dialog and toast notifications; `alga-ui.js` defines them.
//
// Keyboard behaviour follows the WAI-ARIA authoring practices: the dialog pattern (focus moves
// in, Tab cycles inside, Escape closes, focus returns), and for toasts live regions that
// announce without moving focus, F8 to reach them, Escape to dismiss.

import { FOCUSABLE, emit, uniqueId } from "./alga-ui-core.js";

/**
 * `<alga-dialog label open>`: a modal dialog (native `<dialog>`), per the WAI-ARIA dialog pattern:
 * focus moves in on open and Tab cycles inside, Escape closes, focus returns to what opened it.
 * Elements with `data-close` inside close it (their `value` becomes `returnValue`).
 */
export class AlgaDialog extends HTMLElement {
  static observedAttributes = ["open"];

  connectedCallback() {
    if (this.dialog) return;
    const dialog = document.createElement("dialog");
    const label = this.getAttribute("label");
    if (label) {
      const title = document.createElement("h2");
      title.className = "alga-dialog__title";
      title.id = uniqueId("alga-dialog-title");
      title.textContent = label;
      dialog.setAttribute("aria-labelledby", title.id);
      dialog.append(title);
    }
    dialog.append(...[...this.childNodes]);
    this.append(dialog);
    this.dialog = dialog;
    this.returnValue = "";
    // Escape fires `cancel`; closing through `close()` keeps one path that restores focus.
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      this.close("cancel");
    });
    dialog.addEventListener("click", (event) => {
      const closer = event.target instanceof Element ? event.target.closest("[data-close]") : null;
      if (closer && dialog.contains(closer)) this.close(closer.getAttribute("value") || "close");
    });
    dialog.addEventListener("keydown", (event) => this.trapTab(event));
    if (this.hasAttribute("open")) this.show();
  }

  attributeChangedCallback(_name, _old, value) {
    if (!this.dialog) return;
    if (value !== null && !this.dialog.open) this.show();
    else if (value === null && this.dialog.open) this.close();
  }

  get open() {
    return Boolean(this.dialog && this.dialog.open);
  }

  /** Opens the dialog and remembers the focused element to return to. */
  show() {
    if (!this.dialog || this.dialog.open) return;
    this.opener = document.activeElement;
    this.dialog.showModal();
    this.setAttribute("open", "");
    const first = this.dialog.querySelector("[autofocus]") || this.focusables()[0];
    if (first) first.focus();
    else {
      this.dialog.tabIndex = -1;
      this.dialog.focus();
    }
    emit(this, "open");
  }

  /** Closes the dialog, returns focus to its opener and fires `close` with `detail.returnValue`. */
  close(returnValue = "") {
    if (!this.dialog || !this.dialog.open) return;
    this.returnValue = returnValue;
    this.dialog.close();
    this.removeAttribute("open");
    if (this.opener && typeof this.opener.focus === "function" && this.opener.isConnected) this.opener.focus();
    this.opener = null;
    emit(this, "close", { returnValue });
  }

  focusables() {
    return [...this.dialog.querySelectorAll(FOCUSABLE)].filter((el) => !el.closest("[hidden]") && el.getClientRects().length > 0);
  }

  trapTab(event) {
    if (event.key !== "Tab") return;
    const items = this.focusables();
    if (items.length === 0) {
      event.preventDefault();
      return;
    }
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && (document.activeElement === first || !this.dialog.contains(document.activeElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }
}

const TOAST_TONES = ["info", "success", "warning", "danger"];
const TOAST_TIMEOUT_MS = 5000;
const MAX_TOASTS = 5;
let toastsShown = 0;

/** A toast's timeout in ms from its attribute; errors stay until dismissed unless told otherwise. */
function toastTimeout(toast) {
  const given = toast.getAttribute("timeout");
  if (given !== null) {
    const ms = Number(given);
    if (Number.isFinite(ms) && ms >= 0) return ms;
    console.warn(`alga-toast: timeout "${given}" is not a number of milliseconds; using the default`);
  }
  return toast.getAttribute("tone") === "danger" ? 0 : TOAST_TIMEOUT_MS;
}

/**
 * `<alga-toast tone timeout>`: one notification inside an `<alga-toast-region>`. It goes away
 * after `timeout` ms (5000; `0` and `danger` toasts stay until dismissed), never while the
 * pointer or focus is on it; its × button or Escape dismisses it. Fires `dismiss` with
 * `detail.reason` (`"user"`, `"timeout"`, `"overflow"` or `"script"`). `AlgaToast.show()` is
 * the usual way to make one.
 */
export class AlgaToast extends HTMLElement {
  /**
   * Shows `message` (text, never HTML) in the page's `<alga-toast-region>`, creating one at the
   * end of <body> when there is none. `options`: `tone`, `timeout` (ms), `title`. Answers the toast.
   */
  static show(message, options = {}) {
    let region = document.querySelector("alga-toast-region");
    if (!region) region = document.body.appendChild(document.createElement("alga-toast-region"));
    return region.show(message, options);
  }

  connectedCallback() {
    if (!this.built) this.build();
    if (!this.dismissed && this.remaining === undefined) this.remaining = toastTimeout(this);
    this.resume();
  }

  disconnectedCallback() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  build() {
    this.built = true;
    this.order = ++toastsShown;
    // Why the clock is stopped: the pointer, focus, or both.
    this.holds = new Set();
    // Reachable with F8 (the region moves focus here) but not a Tab stop of its own: its
    // dismiss button is.
    this.tabIndex = -1;
    const body = document.createElement("div");
    body.className = "alga-toast__body";
    body.append(...this.childNodes);
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "alga-toast__dismiss";
    dismiss.setAttribute("aria-label", "Dismiss notification");
    dismiss.textContent = "\u00d7";
    dismiss.addEventListener("click", () => this.dismiss("user"));
    this.append(body, dismiss);
    this.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      event.preventDefault();
      // A toast inside a dialog must not close the dialog too.
      event.stopPropagation();
      this.dismiss("user");
    });
    // Reading takes as long as it takes (WCAG 2.2.1): the clock stops while the user is on it.
    this.addEventListener("pointerenter", () => this.pause("pointer"));
    this.addEventListener("pointerleave", () => this.resume("pointer"));
    this.addEventListener("focusin", () => this.pause("focus"));
    this.addEventListener("focusout", (event) => {
      if (!this.contains(event.relatedTarget)) this.resume("focus");
    });
  }

  pause(why) {
    this.holds.add(why);
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.remaining = Math.max(0, this.remaining - (Date.now() - this.startedAt));
  }

  resume(why) {
    if (why) this.holds.delete(why);
    if (this.timer || this.dismissed || !this.isConnected || this.holds.size > 0 || !(this.remaining > 0)) return;
    this.startedAt = Date.now();
    this.timer = setTimeout(() => this.dismiss("timeout"), this.remaining);
  }

  /** Removes the toast; focus inside it moves to another toast or back to where F8 came from. */
  dismiss(reason = "script") {
    if (this.dismissed) return;
    this.dismissed = true;
    clearTimeout(this.timer);
    this.timer = null;
    const region = this.closest("alga-toast-region");
    const hadFocus = this.contains(document.activeElement);
    emit(this, "dismiss", { reason });
    this.remove();
    if (hadFocus && region) region.refocus();
  }
}

/**
 * `<alga-toast-region position label>`: where toasts appear (`position="bottom"`, the default,
 * or `"top"`, at the end side). Two live regions inside announce them without moving focus:
 * `danger` and `warning` toasts assertively, the others politely. F8 anywhere on the page moves
 * focus to the newest toast. Put one in the page's HTML so the first toast is announced too
 * (a live region created together with its content is often not).
 */
export class AlgaToastRegion extends HTMLElement {
  connectedCallback() {
    if (!this.lists) {
      const written = [...this.querySelectorAll(":scope > alga-toast")];
      this.setAttribute("role", "region");
      this.setAttribute("aria-label", this.getAttribute("label") || "Notifications (F8)");
      const list = (politeness) => {
        const element = document.createElement("div");
        element.className = "alga-toast-region__list";
        element.setAttribute("aria-live", politeness);
        element.setAttribute("aria-relevant", "additions");
        return element;
      };
      this.lists = { assertive: list("assertive"), polite: list("polite") };
      this.replaceChildren(this.lists.assertive, this.lists.polite);
      for (const toast of written) this.listFor(toast.getAttribute("tone")).append(toast);
    }
    this.onKey ||= (event) => this.hotkey(event);
    document.addEventListener("keydown", this.onKey);
  }

  disconnectedCallback() {
    document.removeEventListener("keydown", this.onKey);
  }

  listFor(tone) {
    return tone === "danger" || tone === "warning" ? this.lists.assertive : this.lists.polite;
  }

  /** The toasts shown, oldest first. */
  toasts() {
    return [...this.querySelectorAll("alga-toast")].filter((toast) => !toast.dismissed).sort((a, b) => a.order - b.order);
  }

  /** Shows `message` here; see `AlgaToast.show`. Unknown tones and bad timeouts throw a `TypeError` saying so. */
  show(message, { tone = "info", timeout, title } = {}) {
    if (!TOAST_TONES.includes(tone)) throw new TypeError(`alga-toast: tone "${tone}" is not one of ${TOAST_TONES.join(", ")}`);
    if (timeout !== undefined && !(typeof timeout === "number" && Number.isFinite(timeout) && timeout >= 0)) {
      throw new TypeError(`alga-toast: timeout must be a number of milliseconds (0 keeps the toast until dismissed), not ${String(timeout)}`);
    }
    const toast = document.createElement("alga-toast");
    toast.setAttribute("tone", tone);
    if (timeout !== undefined) toast.setAttribute("timeout", String(timeout));
    if (title) {
      const heading = document.createElement("strong");
      heading.className = "alga-toast__title";
      heading.textContent = String(title);
      toast.append(heading);
    }
    toast.append(document.createTextNode(String(message)));
    if (!this.lists) this.connectedCallback();
    this.listFor(tone).append(toast);
    const shown = this.toasts();
    // A burst of notifications must not cover the page: the oldest make room.
    for (const old of shown.slice(0, Math.max(0, shown.length - MAX_TOASTS))) old.dismiss("overflow");
    return toast;
  }

  hotkey(event) {
    if (event.key !== "F8" || event.altKey || event.ctrlKey || event.metaKey) return;
    const newest = this.toasts().pop();
    if (!newest) return;
    event.preventDefault();
    if (!this.contains(document.activeElement)) this.returnFocus = document.activeElement;
    newest.focus();
  }

  /** After a focused toast went away: the newest other toast, else where the user was before F8. */
  refocus() {
    const next = this.toasts().pop();
    if (next) next.focus();
    else if (this.returnFocus && this.returnFocus.isConnected && typeof this.returnFocus.focus === "function") this.returnFocus.focus();
    this.returnFocus = next ? this.returnFocus : null;
  }
}
