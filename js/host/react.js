//! The Host SDK's React bindings: <ExtensionSlot>, <ExtensionPage> and an error boundary over alga-host.js.
//
// React is a peer dependency, imported as "react" and never bundled here; the core module
// (alga-host.js) does not import this file, so hosts without React need nothing.

import { Component, createContext, createElement, useContext, useEffect, useRef, useState } from "react";

const HostContext = createContext(null);

/** Makes `host` (from `createHost`) the one the slots and pages below use. */
export function AlgaHostProvider({ host, children }) {
  return createElement(HostContext.Provider, { value: host }, children);
}

/** The host from the nearest `AlgaHostProvider`, or `explicit` when given. */
export function useAlgaHost(explicit) {
  const fromContext = useContext(HostContext);
  const host = explicit || fromContext;
  if (!host) throw new Error("no Alga host: wrap the tree in <AlgaHostProvider host={createHost(...)}> or pass host");
  return host;
}

/** Keeps a failing extension slot or page inside its own box: the rest of the host renders on. */
export class ExtensionErrorBoundary extends Component {
  constructor(props) {
    super(props);
    this.state = { error: null };
  }

  static getDerivedStateFromError(error) {
    return { error };
  }

  componentDidCatch(error) {
    if (this.props.onError) this.props.onError(error);
  }

  render() {
    if (!this.state.error) return this.props.children;
    const error = this.state.error;
    return createElement(
      "div",
      { className: "alga-ext-error", role: "alert", "data-code": error.code || "ERROR" },
      createElement("strong", null, this.props.title || "Extensions could not be shown"),
      createElement("p", null, String(error.message || error)),
    );
  }
}

function Slot({ name, host, onSelect, renderData, onRendered }) {
  const algaHost = useAlgaHost(host);
  const ref = useRef(null);
  const [error, setError] = useState(null);
  // The latest callbacks, without re-rendering the slot each time the parent renders.
  const callbacks = useRef({});
  callbacks.current = { onSelect, renderData, onRendered };
  useEffect(() => {
    const element = ref.current;
    let live = true;
    const options = {
      onSelect: (item) => callbacks.current.onSelect && callbacks.current.onSelect(item),
      renderData: callbacks.current.renderData,
    };
    const rendering =
      name === "navigation"
        ? algaHost.renderNavigation(element, options)
        : name === "dashboard"
          ? algaHost.renderDashboard(element, options)
          : Promise.reject(new Error(`unknown extension slot "${name}" (navigation or dashboard)`));
    rendering.then(
      (result) => live && callbacks.current.onRendered && callbacks.current.onRendered(result),
      (err) => live && setError(err),
    );
    return () => {
      live = false;
      algaHost.clear(element);
    };
  }, [algaHost, name]);
  if (error) throw error;
  return createElement("div", { ref, className: `alga-ext-slot alga-ext-slot-${name}` });
}

/** The signed-in user's navigation items or dashboard widgets: `<ExtensionSlot name="navigation" />`. */
export function ExtensionSlot(props) {
  return createElement(ExtensionErrorBoundary, { onError: props.onError }, createElement(Slot, props));
}

function Page({ extensionId, path, host, onNavigate, onReady }) {
  const algaHost = useAlgaHost(host);
  const ref = useRef(null);
  const callbacks = useRef({});
  callbacks.current = { onNavigate, onReady };
  useEffect(() => {
    const handle = algaHost.mountPage(ref.current, {
      extensionId,
      path,
      onNavigate: callbacks.current.onNavigate ? (next, context) => callbacks.current.onNavigate(next, context) : undefined,
    });
    handle.ready.then(
      (metrics) => callbacks.current.onReady && callbacks.current.onReady(metrics),
      () => {},
    );
    return () => handle.destroy();
  }, [algaHost, extensionId, path]);
  return createElement("div", { ref, className: "alga-ext-page" });
}

/**
 * An extension page in a sandboxed iframe: `<ExtensionPage extensionId="…" path="/board" />`.
 * Without `onNavigate` the page's `navigate` messages swap pages in place; with it the host's
 * router decides (and re-renders this with the new `path`).
 */
export function ExtensionPage(props) {
  return createElement(ExtensionErrorBoundary, { onError: props.onError }, createElement(Page, props));
}
