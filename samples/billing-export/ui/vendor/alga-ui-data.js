//! The Alga UI components that arrange data: tabs and the sortable, paged table; `alga-ui.js` defines them.
//
// Keyboard behaviour follows the WAI-ARIA authoring practices (tabs with automatic activation,
// sortable table headers as buttons with `aria-sort`).

import { emit, uniqueId } from "./alga-ui-core.js";

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
    if (changed) emit(this, "change", { index: next });
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
    emit(this, "sort", { column: index, direction: next });
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
