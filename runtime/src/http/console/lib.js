// The console's one door to its UI library: Preact, its hooks, and htm bound to Preact's `h` as `html`.
//
// Every screen imports from here, so the vendored files are named in one place only.
import { Fragment, createContext, h, render } from "./vendor/preact.mjs";
import htm from "./vendor/htm.mjs";

export { useCallback, useContext, useEffect, useId, useMemo, useRef, useState } from "./vendor/hooks.mjs";
export { Fragment, createContext, h, render };

/** Tagged templates that build Preact elements (`html\`<p>${text}</p>\``), escaped like JSX. */
export const html = htm.bind(h);
