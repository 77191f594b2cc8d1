//! The Page SDK's React hooks, shaped like Alga's extension-iframe-sdk: useBridge, useTheme, useResize.
//
// React is a peer dependency, imported as "react"; alga-page.js never imports this file.

import { useEffect, useState } from "react";
import { createBridge } from "./alga-page.js";

/** The page's bridge (one per page); `ready` is sent when it is first created. */
export function useBridge(options) {
  return createBridge(options);
}

/** The host's theme tokens (`null` until the first `bootstrap` or `theme`); re-renders on change. */
export function useTheme(bridge) {
  const target = bridge || createBridge();
  const known = target.getThemeTokens();
  const [tokens, setTokens] = useState(Object.keys(known).length ? known : null);
  useEffect(() => target.onTheme((next) => setTokens({ ...next })), [target]);
  return tokens;
}

/** A function that reports a height to the host (Alga's `useResize`); auto-resize does it for the document. */
export function useResize(bridge) {
  const target = bridge || createBridge();
  return (height) => target.resize(height);
}
