//! Types of the Host SDK's React bindings (react.js); React is a peer dependency.
import type { Component, ReactNode } from "react";
import type { AlgaHost, NavigationItem, PageMetrics, Widget } from "./alga-host.js";

export function AlgaHostProvider(props: { host: AlgaHost; children?: ReactNode }): ReactNode;
export function useAlgaHost(explicit?: AlgaHost): AlgaHost;

export class ExtensionErrorBoundary extends Component<{ title?: string; onError?: (error: Error) => void; children?: ReactNode }, { error: Error | null }> {}

export function ExtensionSlot(props: {
  name: "navigation" | "dashboard";
  host?: AlgaHost;
  onSelect?: (item: NavigationItem) => void;
  renderData?: (widget: Widget, element: HTMLElement) => void;
  onRendered?: (result: { renderMs: number; items?: NavigationItem[]; widgets?: Widget[] }) => void;
  onError?: (error: Error) => void;
}): ReactNode;

export function ExtensionPage(props: {
  extensionId: string;
  path?: string;
  host?: AlgaHost;
  onNavigate?: (path: string, context: { extensionId: string }) => void;
  onReady?: (metrics: PageMetrics) => void;
  onError?: (error: Error) => void;
}): ReactNode;
