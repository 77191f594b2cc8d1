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
  }
}
