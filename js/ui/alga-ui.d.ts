//! Types for `alga-ui.js`, the Alga UI custom elements for extension pages.

/** Chooses the light or dark token defaults; `"auto"` follows the system. */
export function setColorScheme(scheme: "light" | "dark" | "auto", root?: HTMLElement): void;

/** `<alga-button variant="primary|secondary|ghost|danger" size="sm|md|lg" type="button|submit|reset" disabled>`. */
export class AlgaButton extends HTMLElement {
  disabled: boolean;
}

/** `<alga-badge tone="default|info|success|warning|danger">`. */
export class AlgaBadge extends HTMLElement {}

/** `<alga-card label?>`: with `label`, a named region. */
export class AlgaCard extends HTMLElement {}

/** `<alga-alert tone="info|success|warning|danger" dismissible>`; fires `dismiss` before it removes itself. */
export class AlgaAlert extends HTMLElement {}

/** `<alga-spinner label? size="sm|md|lg">`: `role="status"`, labelled "Loading" by default. */
export class AlgaSpinner extends HTMLElement {}

/** `<alga-skeleton lines shape="text|block|circle" label>`: loading placeholder bones; `role="status"`, labelled "Loading" by default. */
export class AlgaSkeleton extends HTMLElement {}

/** The `type`s `alga-input` draws; another one is drawn as `text`, with a console warning saying so. */
export type AlgaInputType = "text" | "number" | "email" | "password";

/**
 * `<alga-input label hint error type name value placeholder required disabled readonly min max step minlength maxlength pattern autocomplete inputmode>`:
 * a labelled native input; `input` and `change` bubble from it. A failed constraint shows its message as `error`.
 */
export class AlgaInput extends HTMLElement {
  /** The inner native input. */
  readonly control: HTMLInputElement;
  value: string;
  readonly valueAsNumber: number;
  readonly validity: ValidityState;
  checkValidity(): boolean;
  reportValidity(): boolean;
  focus(options?: FocusOptions): void;
}

/** An option of `AlgaSelect`. */
export interface AlgaSelectOption {
  value: string;
  label?: string;
  disabled?: boolean;
  selected?: boolean;
}

/**
 * `<alga-select label hint error name value placeholder required disabled>` around `<option>` children:
 * a select-only combobox with its own listbox, form-associated. Fires `input` and `change` when the user picks.
 */
export class AlgaSelect extends HTMLElement {
  static readonly formAssociated: true;
  /** Setting it replaces the options (the value is kept when still offered); a bad list throws a `TypeError`. */
  options: AlgaSelectOption[];
  value: string;
  readonly selectedIndex: number;
  readonly isOpen: boolean;
  disabled: boolean;
  readonly form: HTMLFormElement | null;
  readonly validity: ValidityState;
  readonly validationMessage: string;
  readonly willValidate: boolean;
  checkValidity(): boolean;
  reportValidity(): boolean;
  open(activeIndex?: number): void;
  close(): void;
  focus(options?: FocusOptions): void;
}

/** `<alga-checkbox name value checked indeterminate disabled required>Label</alga-checkbox>`: a labelled native checkbox. */
export class AlgaCheckbox extends HTMLElement {
  /** The inner native checkbox. */
  readonly control: HTMLInputElement;
  checked: boolean;
  indeterminate: boolean;
  value: string;
  disabled: boolean;
  focus(options?: FocusOptions): void;
}

/** `AlgaToast.show` options. `timeout` in ms: 5000 by default, `0` (and the default for `danger`) keeps the toast until dismissed. */
export interface AlgaToastOptions {
  tone?: "info" | "success" | "warning" | "danger";
  timeout?: number;
  title?: string;
}

/** Why a toast went away, in its `dismiss` event's `detail.reason`. */
export type AlgaToastDismissReason = "user" | "timeout" | "overflow" | "script";

/** `<alga-toast tone timeout>`: one notification. Fires `dismiss` (`detail.reason`). */
export class AlgaToast extends HTMLElement {
  /** Shows `message` as text in the page's `<alga-toast-region>` (made when missing); an unknown tone or a bad timeout throws a `TypeError`. */
  static show(message: string, options?: AlgaToastOptions): AlgaToast;
  dismiss(reason?: AlgaToastDismissReason): void;
}

/** `<alga-toast-region position="bottom|top" label>`: where toasts stack; polite and assertive live regions; F8 focuses the newest toast. */
export class AlgaToastRegion extends HTMLElement {
  show(message: string, options?: AlgaToastOptions): AlgaToast;
  toasts(): AlgaToast[];
}

/** `<alga-dialog label open>`: a modal dialog; `[data-close]` inside closes it with its `value`. Fires `open` and `close`. */
export class AlgaDialog extends HTMLElement {
  readonly open: boolean;
  returnValue: string;
  show(): void;
  close(returnValue?: string): void;
}

/** `<alga-tabs label selected>` with `<alga-tab>` and `<alga-tab-panel>` children paired in order. Fires `change` (`detail.index`). */
export class AlgaTabs extends HTMLElement {
  readonly selectedIndex: number;
  select(index: number, focus?: boolean): void;
}

/** A column for `AlgaTable.setData`: `sort` makes it sortable, comparing as text or numbers. */
export interface AlgaTableColumn {
  key: string;
  label?: string;
  sort?: "text" | "number";
}

/** `<alga-table label page-size>` around a `<table>` whose `th[data-sort]` headers sort. Fires `sort` (`detail.column`, `detail.direction`). */
export class AlgaTable extends HTMLElement {
  setData(columns: AlgaTableColumn[], rows: Record<string, unknown>[]): void;
  sortBy(index: number, direction?: "ascending" | "descending"): void;
  goTo(page: number): void;
}

declare global {
  interface HTMLElementTagNameMap {
    "alga-button": AlgaButton;
    "alga-badge": AlgaBadge;
    "alga-card": AlgaCard;
    "alga-alert": AlgaAlert;
    "alga-spinner": AlgaSpinner;
    "alga-dialog": AlgaDialog;
    "alga-tabs": AlgaTabs;
    "alga-table": AlgaTable;
    "alga-skeleton": AlgaSkeleton;
    "alga-input": AlgaInput;
    "alga-select": AlgaSelect;
    "alga-checkbox": AlgaCheckbox;
    "alga-toast": AlgaToast;
    "alga-toast-region": AlgaToastRegion;
  }
}
