//! The Alga UI select: a labelled listbox (the WAI-ARIA select-only combobox pattern) that joins its form through ElementInternals; `alga-ui.js` defines it.
//
// It draws its own list, unlike a native <select>, so the list follows the theme tokens in
// both color schemes; it keeps the native keyboard model (arrows, Home/End, type-ahead) and
// takes part in forms the native way (name, value, required, reset, disabled fieldsets).

import { firstInvalid, uniqueId } from "./alga-ui-core.js";
import { fieldParts, syncField } from "./alga-ui-forms.js";

/** How long typed characters add up to one search in the list (as in a native select). */
const TYPEAHEAD_MS = 500;
const PAGE_STEP = 10;

/**
 * `<alga-select label hint error name value placeholder required disabled>` around `<option>`
 * children (`value`, text, `disabled`, `selected`), or given `options` from script. The
 * WAI-ARIA select-only combobox: Enter, Space, Alt+↓ or ↓/↑ open the list; ↓ ↑ Home End
 * PageUp PageDown and typed letters move through it; Enter, Space, Tab or Alt+↑ choose, Escape
 * closes without choosing. It is a form control of its own (`name`, `required`, reset,
 * `fieldset disabled`). Fires `input` and `change` when the user picks another option.
 */
export class AlgaSelect extends HTMLElement {
  static formAssociated = true;
  static observedAttributes = ["label", "hint", "error", "required", "disabled", "placeholder", "value"];

  constructor() {
    super();
    this.internals = typeof this.attachInternals === "function" ? this.attachInternals() : null;
    this.items = [];
    this.selectedIndex = -1;
    this.activeIndex = -1;
    this.typed = "";
  }

  connectedCallback() {
    if (!this.control) this.build();
    this.sync();
  }

  attributeChangedCallback(name, old, value) {
    if (!this.control) return;
    // The attribute is the value to show (and to go back to on reset), as React and HTML set it.
    if (name === "value" && old !== value) {
      this.selectValue(value, false);
      this.defaultIndex = this.selectedIndex;
    }
    this.sync();
  }

  build() {
    const written = [...this.querySelectorAll(":scope > option")].map((option) => ({
      value: option.value,
      label: option.textContent.trim(),
      disabled: option.disabled,
      selected: option.hasAttribute("selected"),
    }));
    this.parts = fieldParts("span");
    const control = document.createElement("div");
    control.className = "alga-select__control";
    control.setAttribute("role", "combobox");
    control.setAttribute("aria-haspopup", "listbox");
    control.setAttribute("aria-expanded", "false");
    control.setAttribute("aria-labelledby", this.parts.label.id);
    const shown = document.createElement("span");
    shown.className = "alga-select__value";
    control.append(shown);
    const listbox = document.createElement("div");
    listbox.className = "alga-select__listbox";
    listbox.id = uniqueId("alga-listbox");
    listbox.setAttribute("role", "listbox");
    listbox.setAttribute("aria-labelledby", this.parts.label.id);
    listbox.tabIndex = -1;
    listbox.hidden = true;
    control.setAttribute("aria-controls", listbox.id);
    const anchor = document.createElement("div");
    anchor.className = "alga-select__anchor";
    anchor.append(control, listbox);
    this.control = control;
    this.shown = shown;
    this.listbox = listbox;
    this.replaceChildren(this.parts.label, anchor, this.parts.hint, this.parts.error);

    // The label is not a <label> (the control is no native one): a click on it still focuses.
    this.parts.label.addEventListener("click", () => this.focus());
    control.addEventListener("click", () => (this.isOpen ? this.close() : this.open()));
    control.addEventListener("keydown", (event) => this.onKey(event));
    control.addEventListener("blur", (event) => {
      // Leaving with the mouse cancels; Tab has chosen already (see onKey).
      if (!this.contains(event.relatedTarget)) this.close();
    });
    // Pressing an option must not take focus from the combobox (focus stays where the keys go).
    listbox.addEventListener("mousedown", (event) => event.preventDefault());
    listbox.addEventListener("click", (event) => {
      const option = event.target instanceof Element ? event.target.closest("[role=option]") : null;
      if (!option || option.getAttribute("aria-disabled") === "true") return;
      this.choose(Number(option.dataset.index));
      this.close();
      control.focus();
    });
    this.addEventListener("invalid", (event) => {
      event.preventDefault();
      this.setAttribute("error", this.internals ? this.internals.validationMessage : "");
      this.constraintError = true;
      // As the browser would: the first failing control of the form gets focus (a lone select, always).
      if (!this.form || firstInvalid(this.form) === this) this.focus();
    });
    this.setOptions(written, this.getAttribute("value") ?? undefined);
    this.defaultIndex = this.selectedIndex;
  }

  /** The options, as `{ value, label, disabled }` copies. */
  get options() {
    return this.items.map(({ value, label, disabled }) => ({ value, label, disabled }));
  }

  /** Replaces the options (`{ value, label?, disabled? }`); the value is kept when it is still there. */
  set options(list) {
    if (!Array.isArray(list)) throw new TypeError("alga-select: options must be an array of { value, label, disabled } objects");
    if (!this.control) this.build();
    this.setOptions(list, this.selectedIndex >= 0 ? this.items[this.selectedIndex].value : undefined);
    this.sync();
  }

  setOptions(list, keep) {
    this.items = list.map((item, index) => {
      if (!item || typeof item !== "object" || item.value === undefined) {
        throw new TypeError(`alga-select: option ${index} has no value (expected { value, label, disabled })`);
      }
      const value = String(item.value);
      return { value, label: String(item.label ?? value), disabled: Boolean(item.disabled), selected: Boolean(item.selected), id: uniqueId("alga-option") };
    });
    this.listbox.replaceChildren(
      ...this.items.map((item, index) => {
        const option = document.createElement("div");
        option.setAttribute("role", "option");
        option.id = item.id;
        option.dataset.index = String(index);
        option.textContent = item.label;
        if (item.disabled) option.setAttribute("aria-disabled", "true");
        return option;
      }),
    );
    let index = keep === undefined ? -1 : this.items.findIndex((item) => item.value === keep);
    if (index < 0) index = this.items.findIndex((item) => item.selected);
    // Like a native select, one option is chosen from the start unless a placeholder stands in.
    if (index < 0 && !this.hasAttribute("placeholder")) index = this.items.findIndex((item) => !item.disabled);
    this.selectedIndex = -1;
    this.choose(index, false);
  }

  get value() {
    return this.selectedIndex >= 0 ? this.items[this.selectedIndex].value : "";
  }

  set value(value) {
    if (!this.control) {
      this.setAttribute("value", value == null ? "" : String(value));
      return;
    }
    this.selectValue(value == null ? "" : String(value), false);
  }

  selectValue(value, fromUser) {
    this.choose(
      this.items.findIndex((item) => item.value === value),
      fromUser,
    );
  }

  get isOpen() {
    return Boolean(this.listbox && !this.listbox.hidden);
  }

  get disabled() {
    return this.hasAttribute("disabled") || Boolean(this.formDisabled);
  }

  set disabled(value) {
    this.toggleAttribute("disabled", Boolean(value));
  }

  get form() {
    return this.internals ? this.internals.form : null;
  }

  get validity() {
    return this.internals ? this.internals.validity : { valid: true };
  }

  get validationMessage() {
    return this.internals ? this.internals.validationMessage : "";
  }

  get willValidate() {
    return this.internals ? this.internals.willValidate : false;
  }

  checkValidity() {
    return this.internals ? this.internals.checkValidity() : true;
  }

  reportValidity() {
    return this.internals ? this.internals.reportValidity() : true;
  }

  focus(options) {
    if (this.control) this.control.focus(options);
  }

  /** Selects option `index` (-1: none); `fromUser` fires `input` and `change` when it changed. */
  choose(index, fromUser = true) {
    const next = index >= 0 && index < this.items.length && !this.items[index].disabled ? index : fromUser ? this.selectedIndex : -1;
    const changed = next !== this.selectedIndex;
    this.selectedIndex = next;
    for (const [i, option] of [...this.listbox.children].entries()) option.setAttribute("aria-selected", String(i === next));
    const placeholder = this.getAttribute("placeholder") || "";
    this.shown.textContent = next >= 0 ? this.items[next].label : placeholder;
    this.shown.classList.toggle("alga-select__placeholder", next < 0);
    this.updateForm();
    if (changed && fromUser) {
      if (this.constraintError && this.validity.valid) {
        this.constraintError = false;
        this.removeAttribute("error");
      }
      this.dispatchEvent(new Event("input", { bubbles: true }));
      this.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  updateForm() {
    if (!this.internals) return;
    this.internals.setFormValue(this.selectedIndex >= 0 ? this.value : null);
    if (this.hasAttribute("required") && this.selectedIndex < 0) {
      this.internals.setValidity({ valueMissing: true }, "Choose one of the options.", this.control);
    } else {
      this.internals.setValidity({});
    }
  }

  sync() {
    syncField(this, this.parts, this.control);
    const disabled = this.disabled;
    this.control.tabIndex = disabled ? -1 : 0;
    this.control.setAttribute("aria-disabled", String(disabled));
    if (this.hasAttribute("required")) this.control.setAttribute("aria-required", "true");
    else this.control.removeAttribute("aria-required");
    if (disabled) this.close();
    if (this.selectedIndex < 0) this.shown.textContent = this.getAttribute("placeholder") || "";
    this.updateForm();
  }

  /** Opens the list with option `active` (default: the chosen one, else the first) highlighted. */
  open(active) {
    if (this.disabled || this.isOpen || this.items.length === 0) return;
    this.listbox.hidden = false;
    this.control.setAttribute("aria-expanded", "true");
    // Opens upwards when the page has no room below (a framed page is only as tall as its content).
    this.classList.remove("alga-select--up");
    const box = this.control.getBoundingClientRect();
    const below = window.innerHeight - box.bottom;
    if (below < this.listbox.offsetHeight + 8 && box.top > below) this.classList.add("alga-select--up");
    this.highlight(active ?? (this.selectedIndex >= 0 ? this.selectedIndex : this.step(-1, 1)));
  }

  close() {
    if (!this.isOpen) return;
    this.listbox.hidden = true;
    this.control.setAttribute("aria-expanded", "false");
    this.control.removeAttribute("aria-activedescendant");
    this.activeIndex = -1;
    for (const option of this.listbox.children) option.removeAttribute("data-active");
  }

  /** Highlights option `index` (the one Enter would choose) and scrolls it into view. */
  highlight(index) {
    if (index < 0 || index >= this.items.length) return;
    this.activeIndex = index;
    for (const [i, option] of [...this.listbox.children].entries()) option.toggleAttribute("data-active", i === index);
    const option = this.listbox.children[index];
    this.control.setAttribute("aria-activedescendant", option.id);
    option.scrollIntoView({ block: "nearest" });
  }

  /** The enabled option `count` steps from `from` (clamped at the ends, skipping disabled ones). */
  step(from, count) {
    const direction = count < 0 ? -1 : 1;
    let found = from;
    let remaining = Math.abs(count);
    for (let i = from + direction; i >= 0 && i < this.items.length && remaining > 0; i += direction) {
      if (this.items[i].disabled) continue;
      found = i;
      remaining -= 1;
    }
    return found;
  }

  onKey(event) {
    if (this.disabled) return;
    const { key, altKey } = event;
    const last = this.step(this.items.length, -1);
    const first = this.step(-1, 1);
    if (!this.isOpen) {
      const opening = { ArrowDown: undefined, ArrowUp: undefined, Enter: undefined, " ": undefined, Home: first, End: last };
      if (key in opening) {
        event.preventDefault();
        this.open(opening[key]);
      } else if (this.isTypeahead(event)) {
        event.preventDefault();
        this.open();
        this.typeahead(key);
      }
      return;
    }
    const moves = {
      ArrowDown: () => this.step(this.activeIndex, 1),
      ArrowUp: () => this.step(this.activeIndex, -1),
      Home: () => first,
      End: () => last,
      PageDown: () => this.step(this.activeIndex, PAGE_STEP),
      PageUp: () => this.step(this.activeIndex, -PAGE_STEP),
    };
    if (key === "ArrowUp" && altKey) {
      event.preventDefault();
      this.choose(this.activeIndex);
      this.close();
    } else if (key in moves) {
      event.preventDefault();
      this.highlight(moves[key]());
    } else if (key === "Enter" || (key === " " && !this.typed)) {
      event.preventDefault();
      this.choose(this.activeIndex);
      this.close();
    } else if (key === "Escape") {
      event.preventDefault();
      // Inside a dialog, Escape closes the list only.
      event.stopPropagation();
      this.close();
    } else if (key === "Tab") {
      // Focus moves on as usual; the highlighted option is taken along the way.
      this.choose(this.activeIndex);
      this.close();
    } else if (this.isTypeahead(event)) {
      event.preventDefault();
      this.typeahead(key);
    }
  }

  isTypeahead(event) {
    return event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey && (event.key !== " " || Boolean(this.typed));
  }

  /** Moves to the next option starting with what was typed in the last half second. */
  typeahead(key) {
    clearTimeout(this.typedTimer);
    this.typedTimer = setTimeout(() => (this.typed = ""), TYPEAHEAD_MS);
    this.typed += key.toLowerCase();
    // Pressing one letter again and again cycles through the options starting with it.
    const repeated = [...this.typed].every((char) => char === this.typed[0]);
    const search = repeated ? this.typed[0] : this.typed;
    const start = repeated || this.activeIndex < 0 ? this.activeIndex + 1 : this.activeIndex;
    for (let offset = 0; offset < this.items.length; offset++) {
      const index = (start + offset) % this.items.length;
      const item = this.items[index];
      if (!item.disabled && item.label.toLowerCase().startsWith(search)) {
        this.highlight(index);
        return;
      }
    }
  }

  formResetCallback() {
    this.choose(this.defaultIndex ?? -1, false);
    this.constraintError = false;
    this.removeAttribute("error");
  }

  formDisabledCallback(disabled) {
    this.formDisabled = disabled;
    if (this.control) this.sync();
  }

  formStateRestoreCallback(state) {
    if (typeof state === "string" && this.control) this.selectValue(state, false);
  }
}
