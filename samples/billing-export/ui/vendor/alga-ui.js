//! The Alga UI components: framework-free custom elements for extension pages, styled by `alga-ui.css` through the `--alga-*` tokens.
//
// Plain ES modules, no dependencies, no build step: importing this file defines every element
// (the classes live in the `alga-ui-*.js` modules beside it, which must be served or vendored
// together with it). They live in the light DOM (no shadow roots) so the one stylesheet, the
// page's own CSS and the theme variables the Page SDK sets on <html> all reach them, and React
// renders them like any tag. Keyboard behaviour follows the WAI-ARIA authoring practices.

import { AlgaAlert, AlgaBadge, AlgaButton, AlgaCard, AlgaSkeleton, AlgaSpinner } from "./alga-ui-core.js";
import { AlgaTable, AlgaTabs } from "./alga-ui-data.js";
import { AlgaCheckbox, AlgaInput } from "./alga-ui-forms.js";
import { AlgaSelect } from "./alga-ui-select.js";
import { AlgaDialog, AlgaToast, AlgaToastRegion } from "./alga-ui-overlays.js";

export { AlgaAlert, AlgaBadge, AlgaButton, AlgaCard, AlgaCheckbox, AlgaDialog, AlgaInput, AlgaSelect, AlgaSkeleton, AlgaSpinner, AlgaTable, AlgaTabs, AlgaToast, AlgaToastRegion };

/** Chooses the light or dark defaults (`"light"`, `"dark"`, or `"auto"` to follow the system). */
export function setColorScheme(scheme, root = document.documentElement) {
  if (scheme === "light" || scheme === "dark") root.setAttribute("data-theme", scheme);
  else root.removeAttribute("data-theme");
}

const ELEMENTS = {
  "alga-button": AlgaButton,
  "alga-badge": AlgaBadge,
  "alga-card": AlgaCard,
  "alga-alert": AlgaAlert,
  "alga-spinner": AlgaSpinner,
  "alga-skeleton": AlgaSkeleton,
  "alga-input": AlgaInput,
  "alga-select": AlgaSelect,
  "alga-checkbox": AlgaCheckbox,
  "alga-dialog": AlgaDialog,
  "alga-toast": AlgaToast,
  "alga-toast-region": AlgaToastRegion,
  "alga-tabs": AlgaTabs,
  "alga-table": AlgaTable,
};

// Defining twice throws; a page that loads the module from two URLs keeps the first definitions.
if (typeof customElements !== "undefined") {
  for (const [name, element] of Object.entries(ELEMENTS)) {
    if (!customElements.get(name)) customElements.define(name, element);
  }
}
