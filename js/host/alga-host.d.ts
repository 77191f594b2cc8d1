//! Types of the Host SDK (alga-host.js): extension points of the signed-in user, rendered and framed.

export interface HostOptions {
  /** The runtime's base URL, e.g. `https://ext.example.com`; "" (default) when proxied under the host's origin. */
  baseUrl?: string;
  /** A fetch-like function that adds the user's session (a proxy's cookie, a header). Default: `fetch`. */
  fetch?: (input: string, init?: RequestInit) => Promise<Response>;
  /** Answers the user's runtime JWT; sent as `Authorization: Bearer`. */
  getToken?: () => string | null | Promise<string | null>;
  /** A frame not `ready` within this many ms becomes an error card (default 5000). */
  readyTimeoutMs?: number;
  /** Bounds of a frame's height from `resize` (default 80 and 4000 px). */
  minHeight?: number;
  maxHeight?: number;
  /** The iframes' sandbox (default "allow-scripts allow-forms"; adding allow-same-origin gives pages the runtime's origin). */
  sandbox?: string;
  /** `--alga-*` theme tokens sent at bootstrap. */
  themeTokens?: Record<string, string>;
  /** Sent in `bootstrap` instead of asking `GET /v1/me`. */
  session?: { tenant?: string; user?: string; [key: string]: unknown };
}

export interface NavigationItem {
  extensionId: string;
  extensionKey: string;
  id: string;
  label: string;
  icon?: string;
  order?: number;
  path: string;
  pageUrl?: string;
}

export interface Widget {
  extensionId: string;
  extensionKey: string;
  id: string;
  title: string;
  size: "small" | "medium" | "large";
  refreshSeconds?: number;
  kind: "data" | "frame";
  state: "ok" | "error";
  data?: unknown;
  url?: string;
  code?: string;
  message?: string;
}

export interface PageDescriptor {
  extensionId: string;
  extensionKey: string;
  path: string;
  route: string;
  kind: "static" | "handler";
  title?: string;
  permission?: string | null;
  url: string;
}

export interface PageMetrics {
  /** Asking the runtime for the page's descriptor (signed URL). */
  descriptorMs: number;
  /** From the iframe's creation to the page's `ready` (the seed's "extension loading time"). */
  mountToReadyMs: number;
  totalMs: number;
}

export interface PageHandle {
  extensionId: string;
  path: string;
  /** Resolves when the current page is ready; rejects (code `EXTENSION_NOT_READY`, `FORBIDDEN`, …) when it failed. */
  ready: Promise<PageMetrics>;
  metrics: PageMetrics | Record<string, never>;
  navigate(path: string): Promise<PageMetrics>;
  destroy(): void;
}

export class RuntimeError extends Error {
  status: number;
  code: string;
  details?: unknown;
}

export class AlgaHost {
  constructor(options?: HostOptions);
  readonly options: Required<Pick<HostOptions, "readyTimeoutMs" | "minHeight" | "maxHeight" | "sandbox">> & HostOptions;
  themeTokens: Record<string, string>;
  url(path: string): string;
  request<T = unknown>(path: string, init?: RequestInit): Promise<T>;
  navigation(): Promise<NavigationItem[]>;
  dashboard(): Promise<Widget[]>;
  widget(extensionId: string, widgetId: string): Promise<Widget>;
  page(extensionId: string, path: string): Promise<PageDescriptor>;
  sessionInfo(): Promise<{ tenant?: string; user?: string }>;
  setTheme(tokens: Record<string, string>): void;
  renderNavigation(container: Element, options?: { onSelect?: (item: NavigationItem) => void }): Promise<{ items: NavigationItem[]; renderMs: number; error?: RuntimeError }>;
  renderDashboard(container: Element, options?: { renderData?: (widget: Widget, element: HTMLElement) => void }): Promise<{ widgets: Widget[]; renderMs: number; error?: RuntimeError }>;
  mountPage(container: Element, options: { extensionId: string; path?: string; onNavigate?: (path: string, context: { extensionId: string }) => void }): PageHandle;
  clear(container: Element): void;
  destroy(): void;
}

export function createHost(options?: HostOptions): AlgaHost;
export function defaultRenderData(widget: Widget, element: HTMLElement): void;
