//! The Alga UI form controls built on native inputs (text input, checkbox) and the field parts every labelled control shares; `alga-ui.js` defines them.
//
// `alga-input` and `alga-checkbox` wrap a native <input> in the light DOM, so it takes part in
// its <form> by itself (value, validation, reset, autofill) and keeps the browser's keyboard
// behaviour. Fields show their `hint` and `error` text under the control, tied to it with
// `aria-describedby`; a failed constraint shows the browser's message there instead of a
// tooltip. `alga-select` (alga-ui-select.js) uses the same field parts.

import { firstInvalid, uniqueId } from "./alga-ui-core.js";

/** The label, hint and error parts of a field, and the ids that tie them to its control. */
export function fieldParts(labelTag) {
  const label = document.createElement(labelTag);
  label.className = "alga-field__label";
  label.id = uniqueId("alga-field-label");
  const hint = document.createElement("p");
  hint.className = "alga-field__hint";
  hint.id = uniqueId("alga-field-hint");
  const error = document.createElement("p");
  error.className = "alga-field__error";
  error.id = uniqueId("alga-field-error");
  return { label, hint, error };
}

/**
 * Writes the host's `label`, `hint` and `error` into the parts and describes `control` by the
 * visible ones. The required mark is for the eye only: the control says "required" itself.
 */
export function syncField(host, parts, control) {
  const required = document.createElement("span");
  required.className = "alga-field__required";
  required.setAttribute("aria-hidden", "true");
  required.textContent = " *";
  parts.label.replaceChildren(host.getAttribute("label") || "", ...(host.hasAttribute("required") ? [required] : []));
  const hint = host.getAttribute("hint") || "";
  const error = host.getAttribute("error") || "";
  parts.hint.textContent = hint;
  parts.hint.hidden = !hint;
  parts.error.textContent = error;
  parts.error.hidden = !error;
  const describedBy = [hint && parts.hint.id, error && parts.error.id].filter(Boolean).join(" ");
  if (describedBy) control.setAttribute("aria-describedby", describedBy);
  else control.removeAttribute("aria-describedby");
  if (error) control.setAttribute("aria-invalid", "true");
  else control.removeAttribute("aria-invalid");
}

const INPUT_TYPES = new Set(["text", "number", "email", "password"]);
const INPUT_ATTRIBUTES = ["name", "placeholder", "required", "disabled", "readonly", "min", "max", "step", "minlength", "maxlength", "pattern", "autocomplete", "inputmode"];

/**
 * `<alga-input label hint error type name value required …>`: a labelled text field. `type` is
 * `text` (default), `number`, `email` or `password`; `value` is the initial value (what a form
 * reset restores); the native constraint attributes (`required`, `min`, `max`, `step`,
 * `minlength`, `maxlength`, `pattern`) are passed on. `error` shows a message and marks the
 * field invalid for assistive technology; the page sets and clears it. When the browser refuses
 * the form for this field, its message is shown the same way and follows the user's edits.
 * `input` and `change` are the native events, bubbling from the inner <input>.
 */
export class AlgaInput extends HTMLElement {
  static observedAttributes = ["label", "hint", "error", "type", ...INPUT_ATTRIBUTES];

  connectedCallback() {
    if (!this.input) this.build();
    this.sync();
  }

  attributeChangedCallback() {
    if (this.input) this.sync();
  }

  build() {
    // The element's attributes are the whole truth: the input is made here and kept in step by sync().
    const input = document.createElement("input");
    input.id = uniqueId("alga-input");
    if (this.hasAttribute("value")) input.defaultValue = this.getAttribute("value");
    this.parts = fieldParts("label");
    this.parts.label.htmlFor = input.id;
    this.input = input;
    this.replaceChildren(this.parts.label, input, this.parts.hint, this.parts.error);
    input.addEventListener("invalid", (event) => {
      // The message goes under the field, where it stays readable, instead of a tooltip.
      event.preventDefault();
      this.showConstraintError();
      // As the browser would: the first failing control of the form gets focus (a lone field, always).
      if (!input.form || firstInvalid(input.form) === input) input.focus();
    });
    input.addEventListener("input", () => {
      if (!this.constraintError) return;
      if (input.validity.valid) {
        this.constraintError = false;
        this.removeAttribute("error");
      } else {
        this.showConstraintError();
      }
    });
  }

  showConstraintError() {
    this.constraintError = true;
    this.setAttribute("error", this.input.validationMessage);
  }

  sync() {
    const input = this.input;
    const type = this.getAttribute("type") || "text";
    if (!INPUT_TYPES.has(type)) console.warn(`alga-input: type "${type}" is not one of text, number, email, password; showing a text field`);
    input.type = INPUT_TYPES.has(type) ? type : "text";
    for (const name of INPUT_ATTRIBUTES) {
      const value = this.getAttribute(name);
      if (value === null) input.removeAttribute(name);
      else input.setAttribute(name, value);
    }
    syncField(this, this.parts, input);
  }

  /** The inner native <input>. */
  get control() {
    return this.input;
  }

  get value() {
    return this.input ? this.input.value : this.getAttribute("value") || "";
  }

  set value(value) {
    if (this.input) this.input.value = value == null ? "" : String(value);
    else this.setAttribute("value", value == null ? "" : String(value));
  }

  /** The value as a number (`NaN` when empty or not a number field). */
  get valueAsNumber() {
    return this.input ? this.input.valueAsNumber : Number.NaN;
  }

  get validity() {
    return this.input.validity;
  }

  checkValidity() {
    return this.input.checkValidity();
  }

  /** Checks the constraints and, when they fail, shows the message under the field and focuses it. */
  reportValidity() {
    return this.input.reportValidity();
  }

  focus(options) {
    this.input.focus(options);
  }
}

const CHECKBOX_ATTRIBUTES = ["name", "value", "disabled", "required"];

/**
 * `<alga-checkbox name value checked indeterminate disabled required>Label</alga-checkbox>`:
 * a native checkbox with its label, drawn with the theme tokens. `checked` is the initial state
 * (what a form reset restores); `indeterminate` shows the mixed state until the user decides
 * (the attribute is dropped then). In a form it submits `value` ("on" by default) when checked.
 * `input` and `change` are the native events.
 */
export class AlgaCheckbox extends HTMLElement {
  static observedAttributes = ["indeterminate", ...CHECKBOX_ATTRIBUTES];

  connectedCallback() {
    if (!this.input) this.build();
    this.sync();
  }

  attributeChangedCallback() {
    if (this.input) this.sync();
  }

  build() {
    const input = document.createElement("input");
    input.type = "checkbox";
    input.className = "alga-checkbox__input";
    input.defaultChecked = this.hasAttribute("checked");
    const text = document.createElement("span");
    text.className = "alga-checkbox__text";
    text.append(...this.childNodes);
    const label = document.createElement("label");
    label.append(input, text);
    this.input = input;
    this.replaceChildren(label);
    input.addEventListener("change", () => {
      // The user has decided: the mixed state is over.
      if (this.hasAttribute("indeterminate")) this.removeAttribute("indeterminate");
    });
  }

  sync() {
    for (const name of CHECKBOX_ATTRIBUTES) {
      const value = this.getAttribute(name);
      if (value === null) this.input.removeAttribute(name);
      else this.input.setAttribute(name, value);
    }
    this.input.indeterminate = this.hasAttribute("indeterminate");
  }

  /** The inner native checkbox. */
  get control() {
    return this.input;
  }

  get checked() {
    return this.input ? this.input.checked : this.hasAttribute("checked");
  }

  set checked(value) {
    if (this.input) this.input.checked = Boolean(value);
    else this.toggleAttribute("checked", Boolean(value));
  }

  get indeterminate() {
    return this.hasAttribute("indeterminate");
  }

  set indeterminate(value) {
    this.toggleAttribute("indeterminate", Boolean(value));
  }

  get value() {
    return this.getAttribute("value") ?? "on";
  }

  set value(value) {
    this.setAttribute("value", String(value));
  }

  get disabled() {
    return this.hasAttribute("disabled");
  }

  set disabled(value) {
    this.toggleAttribute("disabled", Boolean(value));
  }

  focus(options) {
    if (this.input) this.input.focus(options);
  }
}
