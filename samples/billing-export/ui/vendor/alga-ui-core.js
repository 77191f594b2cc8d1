//! The Alga UI components' shared helpers and simple elements (button, badge, card, alert, spinner, skeleton); `alga-ui.js` defines them.
//
// Every element lives in the light DOM (no shadow roots) so the one stylesheet, the page's own
// CSS and the theme variables the Page SDK sets on <html> all reach it. This module only
// declares classes; importing `alga-ui.js` registers them under their tag names.

/** What a keyboard user can reach with Tab (a dialog's focus trap cycles through these). */
export const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

let nextId = 0;
/** A document-unique id for ARIA references; one counter serves every module so ids never collide. */
export function uniqueId(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/** Fires a bubbling `CustomEvent` named `type` with `detail` at `target`. */
export function emit(target, type, detail) {
  target.dispatchEvent(new CustomEvent(type, { bubbles: true, detail }));
}

/**
 * The first control of `form` that fails its constraints, in document order: form-associated
 * elements (alga-select) and native controls (inside alga-input) alike. Components that show
 * their own error text focus themselves only when they are this one, as the browser would.
 */
export function firstInvalid(form) {
  if (!form) return null;
  return [...form.elements].find((element) => element.willValidate && element.validity && !element.validity.valid) || null;
}

/** `<alga-button variant size disabled type>`: the WAI-ARIA button pattern (Enter and Space activate). */
export class AlgaButton extends HTMLElement {
  static observedAttributes = ["disabled"];

  connectedCallback() {
    if (!this.hasAttribute("role")) this.setAttribute("role", "button");
    this.sync();
    if (this.wired) return;
    this.wired = true;
    // Clicks while disabled never reach the page's listeners.
    this.addEventListener("click", (event) => {
      if (this.disabled) {
        event.stopImmediatePropagation();
        event.preventDefault();
        return;
      }
      const form = this.closest("form");
      const type = this.getAttribute("type");
      if (form && type === "submit") form.requestSubmit();
      else if (form && type === "reset") form.reset();
    });
    this.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        this.click();
      } else if (event.key === " ") {
        // Space activates on release, as a native button does; here it only stops the scroll.
        event.preventDefault();
      }
    });
    this.addEventListener("keyup", (event) => {
      if (event.key === " ") {
        event.preventDefault();
        this.click();
      }
    });
  }

  attributeChangedCallback() {
    if (this.isConnected) this.sync();
  }

  get disabled() {
    return this.hasAttribute("disabled");
  }

  set disabled(value) {
    this.toggleAttribute("disabled", Boolean(value));
  }

  sync() {
    this.setAttribute("aria-disabled", String(this.disabled));
    this.tabIndex = this.disabled ? -1 : 0;
  }
}

/** `<alga-badge tone>`: a status pill; purely presentational. */
export class AlgaBadge extends HTMLElement {}

/** `<alga-card label>`: a bordered surface; with `label` it is a named region. */
export class AlgaCard extends HTMLElement {
  connectedCallback() {
    const label = this.getAttribute("label");
    if (label) {
      this.setAttribute("role", "region");
      this.setAttribute("aria-label", label);
    }
  }
}

/** `<alga-alert tone dismissible>`: `danger` and `warning` are announced at once, other tones politely. */
export class AlgaAlert extends HTMLElement {
  connectedCallback() {
    const tone = this.getAttribute("tone") || "info";
    if (!this.hasAttribute("role")) this.setAttribute("role", tone === "danger" || tone === "warning" ? "alert" : "status");
    if (!this.hasAttribute("dismissible") || this.querySelector(":scope > .alga-alert__dismiss")) return;
    const body = document.createElement("div");
    body.className = "alga-alert__body";
    body.append(...this.childNodes);
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "alga-alert__dismiss";
    dismiss.setAttribute("aria-label", "Dismiss");
    dismiss.textContent = "\u00d7";
    dismiss.addEventListener("click", () => {
      emit(this, "dismiss");
      this.remove();
    });
    this.append(body, dismiss);
  }
}

/** `<alga-spinner label size>`: a loading indicator announced as a status ("Loading" unless labelled). */
export class AlgaSpinner extends HTMLElement {
  connectedCallback() {
    this.setAttribute("role", "status");
    this.setAttribute("aria-label", this.getAttribute("label") || "Loading");
  }
}


const SKELETON_SHAPES = new Set(["text", "block", "circle"]);
const MAX_SKELETON_LINES = 20;

/**
 * `<alga-skeleton lines shape label>`: grey placeholder bones where content is still loading.
 * `shape="text"` (default) draws `lines` bars, the last one shorter; `block` and `circle` draw
 * one shape sized by the page's CSS. The bones are hidden from assistive technology; the element
 * itself is a status named `label` ("Loading" by default). The shimmer stops for users who ask
 * for less motion.
 */
export class AlgaSkeleton extends HTMLElement {
  static observedAttributes = ["lines", "shape", "label"];

  connectedCallback() {
    this.render();
  }

  attributeChangedCallback() {
    if (this.isConnected) this.render();
  }

  render() {
    this.setAttribute("role", "status");
    this.setAttribute("aria-label", this.getAttribute("label") || "Loading");
    const shape = this.getAttribute("shape") || "text";
    const known = SKELETON_SHAPES.has(shape);
    // An unknown shape is drawn (and styled) as text, with a message saying why.
    if (!known) console.warn(`alga-skeleton: shape "${shape}" is not one of text, block, circle; drawing text lines`);
    const wanted = Number.parseInt(this.getAttribute("lines") || "1", 10);
    const lines = known && shape !== "text" ? 1 : Math.max(1, Math.min(MAX_SKELETON_LINES, Number.isInteger(wanted) ? wanted : 1));
    const bones = [];
    for (let i = 0; i < lines; i++) {
      const bone = document.createElement("span");
      bone.className = "alga-skeleton__bone";
      bone.setAttribute("aria-hidden", "true");
      bones.push(bone);
    }
    this.replaceChildren(...bones);
  }
}
