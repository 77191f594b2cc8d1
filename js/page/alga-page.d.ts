//! Types of the Page SDK (alga-page.js): the page's end of Alga's v1 postMessage envelope.

export type ProxyHttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** Alga's v1 envelope; every message in either direction has this shape. */
export interface Envelope<TType extends string = string, TPayload = unknown> {
  alga: true;
  version: "1";
  type: TType;
  request_id?: string;
  payload: TPayload;
}

export type ThemeTokens = Record<string, string>;

export interface BootstrapPayload {
  session: { tenant?: string; user?: string; [key: string]: unknown };
  theme_tokens: ThemeTokens;
  navigation: { path: string };
}

export type HostToClientMessage =
  | Envelope<"bootstrap", BootstrapPayload>
  | Envelope<"theme", { theme_tokens: ThemeTokens }>
  | Envelope<"apiproxy_response", { body?: string; status?: number; error?: { code: string; message: string; status?: number } | string }>;

export interface BridgeOptions {
  /** The host's origin; default: the `parentOrigin` query parameter the Host SDK adds, else none ("*"). */
  expectedParentOrigin?: string;
  /** How long a call waits for the host's answer (default 15000 ms). */
  timeoutMs?: number;
}

export interface CreateBridgeOptions extends BridgeOptions {
  /** Send `ready` at once (default true). */
  ready?: boolean;
  /** Report the document's height on every change (default true). */
  autoResize?: boolean;
}

export interface CallOptions<TBody = unknown> {
  method?: ProxyHttpMethod;
  /** A `Uint8Array`/`ArrayBuffer` is sent as is, a string as UTF-8, anything else as JSON. */
  body?: TBody;
  timeoutMs?: number;
}

/** A refused or failed call; `code` is the runtime's (e.g. `FORBIDDEN`, `EXTENSION_STATUS`) or `TIMEOUT`. */
export class HandlerError extends Error {
  code: string;
  status?: number;
  body?: Uint8Array;
  /** The runtime's `details` of the refusal (e.g. `{ field }` of an extension's `HttpError`). */
  details?: unknown;
}

export interface UiProxy {
  callRoute(route: string, body?: Uint8Array | null, options?: { method?: ProxyHttpMethod; timeoutMs?: number }): Promise<Uint8Array>;
  call(route: string, body?: Uint8Array | null, options?: { method?: ProxyHttpMethod; timeoutMs?: number }): Promise<Uint8Array>;
}

export class IframeBridge {
  constructor(options?: BridgeOptions);
  ready(): void;
  on(listener: (message: HostToClientMessage) => void): () => void;
  onTheme(listener: (tokens: ThemeTokens) => void): () => void;
  whenBootstrapped(): Promise<BootstrapPayload>;
  emitToHost(type: "ready" | "resize" | "navigate" | "apiproxy", payload: object, requestId?: string): void;
  navigate(path: string): void;
  resize(height: number): void;
  autoResize(element?: Element): () => void;
  callProxy(route: string, body?: unknown, options?: CallOptions): Promise<Uint8Array>;
  readonly uiProxy: UiProxy;
  callHandler(path: string, options?: CallOptions): Promise<Uint8Array>;
  callHandlerJson<T = unknown>(path: string, options?: CallOptions): Promise<T | null>;
  getThemeTokens(): ThemeTokens;
  getSession(): BootstrapPayload["session"] | null;
  destroy(): void;
}

export function createBridge(options?: CreateBridgeOptions): IframeBridge;
export function callHandler(path: string, options?: CallOptions): Promise<Uint8Array>;
export function callHandler(bridge: IframeBridge | Pick<IframeBridge, "uiProxy"> | UiProxy, path: string, options?: CallOptions): Promise<Uint8Array>;
export function callHandlerJson<T = unknown>(path: string, options?: CallOptions): Promise<T | null>;
export function callHandlerJson<T = unknown>(bridge: IframeBridge | Pick<IframeBridge, "uiProxy"> | UiProxy, path: string, options?: CallOptions): Promise<T | null>;
export function onTheme(listener: (tokens: ThemeTokens) => void): () => void;
export function navigate(path: string): void;
export function autoResize(element?: Element): () => void;
export function applyThemeTokens(tokens: ThemeTokens, root?: HTMLElement): void;
