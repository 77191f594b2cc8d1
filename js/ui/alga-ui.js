//! The Alga UI components: framework-free custom elements for extension pages, styled by `alga-ui.css` through the `--alga-*` tokens.
//
// Plain ES module, no dependencies, no build step; importing it defines the elements. They live
// in the light DOM (no shadow roots) so the one stylesheet, the page's own CSS and the theme
// variables the Page SDK sets on <html> all reach them, and React renders them like any tag.
// Keyboard behaviour follows the WAI-ARIA authoring practices for each pattern.

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

let nextId = 0;
/** A document-unique id for ARIA references. */
function uniqueId(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/** Chooses the light or dark defaults (`"light"`, `"dark"`, or `"auto"` to follow the system). */
export function setColorScheme(scheme, root = document.documentElement) {
  if (scheme === "light" || scheme === "dark") root.setAttribute("data-theme", scheme);
  else root.removeAttribute("data-theme");
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
      this.dispatchEvent(new CustomEvent("dismiss", { bubbles: true }));
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
    this.dispatchEvent(new CustomEvent("open", { bubbles: true }));
  }

  /** Closes the dialog, returns focus to its opener and fires `close` with `detail.returnValue`. */
  close(returnValue = "") {
    if (!this.dialog || !this.dialog.open) return;
    this.returnValue = returnValue;
    this.dialog.close();
    this.removeAttribute("open");
    if (this.opener && typeof this.opener.focus === "function" && this.opener.isConnected) this.opener.focus();
    this.opener = null;
    this.dispatchEvent(new CustomEvent("close", { bubbles: true, detail: { returnValue } }));
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

/**
 * `<alga-tabs label selected>` with `<alga-tab>` and `<alga-tab-panel>` children, paired in order:
 * the WAI-ARIA tabs pattern with automatic activation (arrows, Home and End move and select;
 * only the selected tab is in the Tab order). Fires `change` with `detail.index`.
 */
export class AlgaTabs extends HTMLElement {
  connectedCallback() {
    if (this.tablist) return;
    this.tabs = [...this.querySelectorAll(":scope > alga-tab")];
    this.panels = [...this.querySelectorAll(":scope > alga-tab-panel")];
    const tablist = document.createElement("div");
    tablist.setAttribute("role", "tablist");
    const label = this.getAttribute("label");
    if (label) tablist.setAttribute("aria-label", label);
    tablist.append(...this.tabs);
    this.prepend(tablist);
    this.tablist = tablist;
    this.tabs.forEach((tab, index) => {
      tab.id ||= uniqueId("alga-tab");
      tab.setAttribute("role", "tab");
      const panel = this.panels[index];
      if (panel) {
        panel.id ||= uniqueId("alga-tab-panel");
        panel.setAttribute("role", "tabpanel");
        panel.setAttribute("aria-labelledby", tab.id);
        // The panel is focusable so a keyboard user reaches its text even without controls in it.
        panel.tabIndex = 0;
        tab.setAttribute("aria-controls", panel.id);
      }
      tab.addEventListener("click", () => this.select(index, true));
    });
    tablist.addEventListener("keydown", (event) => this.onKey(event));
    const wanted = Number.parseInt(this.getAttribute("selected") || "0", 10);
    this.select(Number.isInteger(wanted) && wanted >= 0 && wanted < this.tabs.length ? wanted : 0, false);
  }

  /** The selected tab's index. */
  get selectedIndex() {
    return this.current ?? 0;
  }

  /** Selects tab `index` (clamped), optionally focusing it. */
  select(index, focus = false) {
    if (this.tabs.length === 0) return;
    const next = Math.max(0, Math.min(this.tabs.length - 1, index));
    const changed = this.current !== undefined && this.current !== next;
    this.current = next;
    this.tabs.forEach((tab, i) => {
      tab.setAttribute("aria-selected", String(i === next));
      tab.tabIndex = i === next ? 0 : -1;
      if (this.panels[i]) this.panels[i].hidden = i !== next;
    });
    this.setAttribute("selected", String(next));
    if (focus) this.tabs[next].focus();
    if (changed) this.dispatchEvent(new CustomEvent("change", { bubbles: true, detail: { index: next } }));
  }

  onKey(event) {
    const count = this.tabs.length;
    const moves = {
      ArrowRight: (this.current + 1) % count,
      ArrowLeft: (this.current - 1 + count) % count,
      Home: 0,
      End: count - 1,
    };
    if (!(event.key in moves)) return;
    event.preventDefault();
    this.select(moves[event.key], true);
  }
}

/** Compares two cell texts as numbers when both are, else as text in the page's language. */
function compareCells(a, b, type) {
  if (type === "number") {
    const x = Number.parseFloat(a);
    const y = Number.parseFloat(b);
    if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
  }
  return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
}

/**
 * `<alga-table label page-size>` around a `<table>` (or given `columns` and `rows` from script):
 * headers marked `data-sort="text|number"` become buttons that sort by the column, toggling
 * ascending/descending and setting `aria-sort` on the header; with `page-size` the rows are
 * paged, with Previous/Next buttons and the page announced. Fires `sort` with `detail.column`, `detail.direction`.
 */
export class AlgaTable extends HTMLElement {
  connectedCallback() {
    if (!this.querySelector(":scope > table")) this.render();
    this.enhance();
  }

  /** Replaces the table with `columns` (`{ key, label, sort? }`) and `rows` (objects), rendered as text. */
  setData(columns, rows) {
    this.columns = Array.isArray(columns) ? columns : [];
    this.rows = Array.isArray(rows) ? rows : [];
    this.querySelector(":scope > table")?.remove();
    this.render();
    this.enhanced = false;
    this.enhance();
  }

  render() {
    const columns = this.columns || [];
    const table = document.createElement("table");
    const head = table.createTHead().insertRow();
    for (const column of columns) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = column.label ?? column.key;
      if (column.sort) th.dataset.sort = column.sort;
      head.append(th);
    }
    const body = table.createTBody();
    for (const row of this.rows || []) {
      const tr = body.insertRow();
      for (const column of columns) tr.insertCell().textContent = row?.[column.key] == null ? "" : String(row[column.key]);
    }
    this.prepend(table);
  }

  enhance() {
    const table = this.querySelector(":scope > table");
    if (!table || this.enhanced) return;
    this.enhanced = true;
    const label = this.getAttribute("label");
    if (label && !table.hasAttribute("aria-label")) table.setAttribute("aria-label", label);
    this.page = 0;
    [...table.querySelectorAll("thead th")].forEach((th, index) => {
      if (!th.dataset.sort) return;
      const button = document.createElement("button");
      button.type = "button";
      button.append(...th.childNodes);
      button.addEventListener("click", () => this.sortBy(index));
      th.append(button);
    });
    this.renderPage();
  }

  /** Sorts by column `index`: ascending first, then toggling. */
  sortBy(index, direction) {
    const table = this.querySelector(":scope > table");
    const headers = [...table.querySelectorAll("thead th")];
    const th = headers[index];
    if (!th || !th.dataset.sort) return;
    const next = direction || (th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending");
    for (const other of headers) other.removeAttribute("aria-sort");
    th.setAttribute("aria-sort", next);
    const body = table.tBodies[0];
    const sign = next === "ascending" ? 1 : -1;
    const rows = [...body.rows];
    // Array sort is stable, so rows equal in this column keep their previous order.
    rows.sort((a, b) => sign * compareCells(a.cells[index]?.textContent ?? "", b.cells[index]?.textContent ?? "", th.dataset.sort));
    body.append(...rows);
    this.page = 0;
    this.renderPage();
    this.dispatchEvent(new CustomEvent("sort", { bubbles: true, detail: { column: index, direction: next } }));
  }

  renderPage() {
    const size = Number.parseInt(this.getAttribute("page-size") || "", 10);
    const rows = [...(this.querySelector(":scope > table")?.tBodies[0]?.rows || [])];
    if (!Number.isInteger(size) || size < 1) {
      rows.forEach((row) => (row.hidden = false));
      return;
    }
    const pages = Math.max(1, Math.ceil(rows.length / size));
    this.page = Math.max(0, Math.min(pages - 1, this.page));
    rows.forEach((row, i) => (row.hidden = Math.floor(i / size) !== this.page));
    let pager = this.querySelector(":scope > .alga-table__pager");
    if (!pager) {
      pager = document.createElement("div");
      pager.className = "alga-table__pager";
      const previous = document.createElement("alga-button");
      previous.setAttribute("variant", "secondary");
      previous.setAttribute("size", "sm");
      previous.dataset.page = "previous";
      previous.textContent = "Previous";
      const status = document.createElement("span");
      status.setAttribute("aria-live", "polite");
      const next = document.createElement("alga-button");
      next.setAttribute("variant", "secondary");
      next.setAttribute("size", "sm");
      next.dataset.page = "next";
      next.textContent = "Next";
      previous.addEventListener("click", () => this.goTo(this.page - 1));
      next.addEventListener("click", () => this.goTo(this.page + 1));
      pager.append(previous, status, next);
      this.append(pager);
    }
    pager.querySelector("span").textContent = `Page ${this.page + 1} of ${pages}`;
    const previous = pager.querySelector("[data-page='previous']");
    const next = pager.querySelector("[data-page='next']");
    previous.disabled = this.page === 0;
    next.disabled = this.page >= pages - 1;
    // A keyboard user on the button that just became disabled lands on the other one, not on nothing.
    if (document.activeElement === next && next.disabled && !previous.disabled) previous.focus();
    if (document.activeElement === previous && previous.disabled && !next.disabled) next.focus();
  }

  /** Shows page `index` (0-based, clamped) when paged. */
  goTo(index) {
    this.page = index;
    this.renderPage();
  }
}


const ELEMENTS = {
  "alga-button": AlgaButton,
  "alga-badge": AlgaBadge,
  "alga-card": AlgaCard,
  "alga-alert": AlgaAlert,
  "alga-spinner": AlgaSpinner,
  "alga-dialog": AlgaDialog,
  "alga-tabs": AlgaTabs,
  "alga-table": AlgaTable,
};

// Defining twice throws; a page that loads the module from two URLs keeps the first definitions.
if (typeof customElements !== "undefined") {
  for (const [name, element] of Object.entries(ELEMENTS)) {
    if (!customElements.get(name)) customElements.define(name, element);
  }
}
