//! Types of `@alga/sdk` for extension authors: the handler signature, `ctx`, the response helpers, `HttpError` and every error code.
//
// The runtime's module (runtime/src/isolate/sdk.js) and the value exports here are held to
// the same names by tests/it/sdk_typings.rs; docs/sdk.md must mention every export. The
// web globals an isolate has (fetch, Response, Headers, URL, crypto, TextEncoder, setTimeout,
// ...) come from TypeScript's "WebWorker" library: see tsconfig.extension.json.

// ---------------------------------------------------------------------------------------
// Values the runtime's `@alga/sdk` module exports.
// ---------------------------------------------------------------------------------------

/** The isolate's `Response` class, re-exported: `return new Response("ok")`. Its status
 *  must be 200–599. */
export declare const Response: typeof globalThis.Response;
/** A `Response` instance. */
export type Response = globalThis.Response;

/** The isolate's `Headers` class, re-exported. */
export declare const Headers: typeof globalThis.Headers;
/** A `Headers` instance. */
export type Headers = globalThis.Headers;

/**
 * A JSON response (`content-type: application/json`).
 *
 * @example return json({ ok: true }, { status: 201, headers: { "x-trace": "1" } });
 */
export declare function json(body: unknown, init?: ResponseInit): Response;

/**
 * An HTML response (`content-type: text/html;charset=utf-8`, whatever `init` says), for
 * pages rendered by a handler.
 *
 * @example return html(`<h1>${escape(title)}</h1>`);
 */
export declare function html(text: string, init?: ResponseInit): Response;

/**
 * A plain-text response (`content-type: text/plain;charset=UTF-8` unless `init.headers`
 * names another).
 *
 * @example return text("pong");
 */
export declare function text(body: string, init?: ResponseInit): Response;

/**
 * A redirect: `location` is sent as the `Location` header as given (absolute, or relative
 * to the request's URL). Throws a `RangeError` for any status but 301, 302, 303, 307 and
 * 308, and a `TypeError` for an empty location.
 *
 * @example return redirect("/api/extensions/com.acme.tags/tags", 303);
 */
export declare function redirect(location: string | URL, status?: RedirectStatus): Response;

/** The statuses `redirect` accepts. */
export type RedirectStatus = 301 | 302 | 303 | 307 | 308;

/**
 * An answer in the runtime's error shape. Thrown from a handler (or by `ctx.error`), it
 * makes the call answer `status` with
 * `{ "error": { "code": code, "message": message, "details": details ?? null } }`.
 *
 * It is an answer, not a failure: it is not written to the extension's log as one and never
 * counts towards suspending the extension. A widget's caller sees it as the widget's error
 * (`state: "error"` with this code); a lifecycle hook that throws it fails like any throw.
 *
 * The constructor throws a `TypeError` naming the mistake when `status` is not an integer
 * from 400 to 599, `code` is not SCREAMING_SNAKE_CASE (`NOT_FOUND`, at most 64 characters)
 * or `message` is empty; `details` must be JSON (else the call answers `500 EXTENSION_ERROR`
 * saying so).
 *
 * @example
 * if (!ticket) throw new HttpError(404, "TICKET_NOT_FOUND", `no ticket ${request.params.id}`, { id: request.params.id });
 */
export declare class HttpError<Details = unknown> extends Error {
  /**
   * `init.headers` adds response headers (e.g. `Retry-After` on a 429), under the same rules
   * as a `Response`'s headers; the body is always the runtime's JSON error shape.
   *
   * @example throw new HttpError(429, "SLOW_DOWN", "try again in a minute", null, { headers: { "retry-after": "60" } });
   */
  constructor(status: number, code: ErrorCode, message: string, details?: Details, init?: HttpErrorInit);
  /** "HttpError". */
  name: string;
  /** The HTTP status answered, 400–599. */
  status: number;
  /** The machine-readable code clients switch on. */
  code: ErrorCode;
  /** Anything JSON for the caller to act on, or `null`. */
  details: Details | null;
  /** Headers sent with the answer (from `init.headers`). */
  headers: Headers;
}

/** Options of `new HttpError(...)` and `ctx.error(...)`. */
export interface HttpErrorInit {
  /** Extra response headers; `content-type` and `content-length` are the runtime's. */
  headers?: HeadersInit;
}

// ---------------------------------------------------------------------------------------
// Handlers: what the main module exports, and what the runtime passes them.
// ---------------------------------------------------------------------------------------

/**
 * An endpoint's handler, exported by name from the main module and named in the manifest
 * (`extensionPoints.endpoints[].handler`):
 *
 * ```ts
 * export async function getTicket(request: HandlerRequest, ctx: Context): Promise<HandlerResult> { ... }
 * ```
 *
 * It may be sync or async; it runs under the extension's CPU, memory and wall-clock limits.
 */
export type Handler<Body = unknown, Settings extends SettingValues = SettingValues> = (
  request: HandlerRequest<Body>,
  ctx: Context<Settings>,
) => HandlerResult | Promise<HandlerResult>;

/** A page's handler (`extensionPoints.pages[].handler`): like an endpoint's, except that a
 *  bare string answers `text/html` instead of `text/plain`. */
export type PageHandler<Settings extends SettingValues = SettingValues> = Handler<null, Settings>;

/** A data widget's handler (`extensionPoints.widgets[].handler`): called with a GET of
 *  `/widgets/{id}`; it answers JSON data for the host to render (status below 400, at most
 *  the runtime's widget size) within the widget time budget. */
export type WidgetHandler<Settings extends SettingValues = SettingValues> = Handler<null, Settings>;

/**
 * A lifecycle hook, exported by its name: `onInstall`, `onUpdate`, `onEnable`, `onDisable`
 * or `onUninstall`. `ctx` has no request's user permissions (`ctx.user.id` is the admin who
 * acted). A throw (an `HttpError` included) from `onInstall` or `onUpdate` refuses the
 * approval and changes nothing; from the others it is logged and audited.
 */
export type LifecycleHook<Settings extends SettingValues = SettingValues> = (
  event: LifecycleEvent,
  ctx: Context<Settings>,
) => void | Promise<void>;

/** What a lifecycle hook is called with. */
export interface LifecycleEvent {
  hook: "install" | "update" | "enable" | "disable" | "uninstall";
  /** For `update`: the version being replaced. */
  fromVersion?: string;
}

/**
 * The request as a handler sees it (frozen).
 *
 * `body` is the parsed JSON when the request's content type says JSON and it parses; the
 * text when it is UTF-8 of a textual type; a `Uint8Array` for binary types
 * (`application/octet-stream`, `image/*`, `application/pdf`, ...); `null` when empty.
 */
export interface HandlerRequest<Body = unknown> {
  /** Upper case: "GET", "POST", ... */
  readonly method: string;
  /** The path after `/api/extensions/{extension}`, still percent-encoded as sent, with a
   *  leading `/`. */
  readonly path: string;
  /** The route's `:name` parameters, decoded once. */
  readonly params: Readonly<Record<string, string>>;
  /** The query string's parameters, decoded; a repeated name keeps its first value. */
  readonly query: Readonly<Record<string, string>>;
  /** Request headers by lower-case name; a repeated header keeps its first value.
   *  `authorization` and `cookie` are never passed on: the runtime keeps the caller's
   *  credentials. On endpoint calls `x-request-id` is always present: the caller's id, or
   *  the one the runtime made (the id a failure's answer and the extension's log carry). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Body | string | Uint8Array | null;
}

/**
 * What a handler may return (or resolve to):
 *
 * - a `Response` (see `json`, `html`, `text`, `redirect`);
 * - a string: 200 `text/plain` (`text/html` from a page handler);
 * - `undefined` or `null`: 204 without a body;
 * - an `ArrayBuffer` or typed array: 200 `application/octet-stream`;
 * - `{ status?, headers?, body? }` (an object with at least one of these keys): `status`
 *   200–599 (default 200), `body` a string, bytes or JSON (its content type set to match
 *   unless `headers` names one);
 * - any other JSON value: 200 `application/json`.
 *
 * Response headers pass an allow-list (`content-*`, `cache-control`, `etag`, `location`,
 * `set-cookie` without `Domain`, custom `x-*`, ...); others are dropped.
 */
export type HandlerResult = Response | string | null | undefined | ArrayBuffer | ArrayBufferView | ResponseObject | number | boolean | object;

/** The plain-object answer form of a handler. */
export interface ResponseObject {
  /** 200–599; default 200. */
  status?: number;
  headers?: HeadersInit;
  body?: string | ArrayBuffer | ArrayBufferView | number | boolean | object | null;
}

/** A JSON value. (Values given to storage and the host API are typed `unknown`, so that
 *  interfaces fit, and values read back are `unknown` until a type argument says what they
 *  are; they are JSON all the same.) */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

// ---------------------------------------------------------------------------------------
// ctx: who calls, and what the extension may use.
// ---------------------------------------------------------------------------------------

/** Values of the manifest's settings, by key. */
export type SettingValues = Record<string, SettingValue>;

/** A setting's value: `string`, `number`, `boolean`, `select` (a string) or `multiselect`
 *  (strings); `null` when it has neither a saved value nor a default. Secret settings
 *  arrive decrypted. */
export type SettingValue = string | number | boolean | string[] | null;

/** The second argument of every handler and hook (frozen; the same object for calls with
 *  the same user, roles and settings). */
export interface Context<Settings extends SettingValues = SettingValues> {
  /** The tenant the call is for; every store and API call is scoped to it. */
  readonly tenant: string;
  readonly user: User;
  readonly extension: ExtensionInfo;
  readonly settings: SettingsReader<Settings>;
  readonly permissions: Permissions;
  /** The extension's key-value storage in this tenant (the default namespace `""`);
   *  needs the `storage:read` / `storage:write` capabilities. */
  readonly storage: ExtensionStorage;
  /** The host app's REST API, as this call's user; needs capabilities such as
   *  `tickets:read`. */
  readonly api: HostApi;
  /** Log lines for the extension's log (`alga-ext logs`, the admin console), like
   *  `console.*`. */
  readonly log: Log;
  /**
   * Throws `new HttpError(status, code, message, details)`: the call answers `status` with
   * the runtime's error shape (see `HttpError`).
   *
   * @example if (!ctx.permissions.has("tags:edit")) ctx.error(403, "FORBIDDEN", "only editors may tag tickets");
   */
  error(status: number, code: ErrorCode, message: string, details?: unknown, init?: HttpErrorInit): never;
}

/** Short for {@link Context} (the name `alga-ext new`'s templates use). */
export type Ctx<Settings extends SettingValues = SettingValues> = Context<Settings>;

/** Who calls: the host's user id and their roles in the tenant. */
export interface User {
  readonly id: string;
  readonly roles: readonly string[];
}

/** The extension serving the call. */
export interface ExtensionInfo {
  /** The install's id in this tenant (a UUID). */
  readonly id: string;
  /** The manifest's `id`, e.g. `com.acme.ticket-tags`. */
  readonly key: string;
  /** The serving version. */
  readonly version: string;
  /** Where this version's static assets are served (`/ext-ui/{id}/sha256:{hash}/`), for
   *  pages rendered by a handler to link their scripts and styles. */
  readonly assetsUrl: string;
}

/** The extension's settings in this tenant: manifest defaults merged with what an admin
 *  saved. */
export interface SettingsReader<Settings extends SettingValues = SettingValues> {
  /** Every setting, as a fresh object. */
  get(): Promise<Settings>;
  /** One setting; `undefined` for a key the manifest does not declare. */
  get<K extends keyof Settings & string>(key: K): Promise<Settings[K]>;
}

/** What this call may do: the caller's permissions of this extension (manifest
 *  `userPermissions`, short names such as `use`), then the capabilities the install was
 *  granted (`storage:read`, `tickets:read`, ...). */
export interface Permissions {
  has(name: string): boolean;
  list(): string[];
}

/** Log lines for the extension's log; `fields` are appended as JSON. Lines are bounded per
 *  call and per minute (past that, one "log output truncated" line says so). */
export interface Log {
  debug(message: string, fields?: unknown): void;
  info(message: string, fields?: unknown): void;
  warn(message: string, fields?: unknown): void;
  error(message: string, fields?: unknown): void;
}

// ---------------------------------------------------------------------------------------
// ctx.storage
// ---------------------------------------------------------------------------------------

/**
 * The extension's key-value store in one tenant, one namespace at a time. Keys are strings
 * of at most 256 characters, namespaces at most 64; values are JSON of at most 64 KiB
 * (after any schema the manifest declares for the namespace); the tenant's quota bounds
 * the total. A refusal throws a {@link StorageError}.
 */
export interface ExtensionStorage {
  /** This view's namespace (`""` for `ctx.storage`). */
  readonly namespaceName: string;
  /** The same store, in namespace `name`. */
  namespace(name: string): ExtensionStorage;
  /** The value, or `null` when absent or expired. */
  get<T = unknown>(key: string): Promise<T | null>;
  /** The value with its revision and expiry, or `null`. */
  getEntry<T = unknown>(key: string): Promise<StorageEntry<T> | null>;
  has(key: string): Promise<boolean>;
  /**
   * Writes a value. `ttlSeconds` expires it; `ifRevision` writes only over that revision
   * (0: only if absent), else throws `REVISION_MISMATCH` with `expected` and `found`;
   * `sensitive` stores it encrypted (read back in clear; never matched by `search`; needs
   * the runtime's encryption keys, else `ENCRYPTION_UNAVAILABLE`).
   */
  set(key: string, value: unknown, options?: SetOptions): Promise<WriteResult>;
  /** Values of up to 100 keys, as a Map of the keys that exist. */
  getBatch<T = unknown>(keys: Iterable<string>): Promise<Map<string, T>>;
  /** Writes up to 100 entries (a Map, an object or `[key, value]` pairs) all or nothing. */
  setBatch(entries: Map<string, unknown> | Record<string, unknown> | Array<[string, unknown]>, options?: SetOptions): Promise<void>;
  /** Deletes up to 100 keys; resolves to how many existed. */
  deleteBatch(keys: Iterable<string>): Promise<number>;
  /** Deletes the key; resolves to whether it existed. */
  delete(key: string): Promise<boolean>;
  /** Deletes everything in this namespace; resolves to how many values there were. */
  clear(): Promise<number>;
  /** How many values this namespace holds. */
  size(): Promise<number>;
  /** Keys matching a glob (`*` any run, `?` one character), in key order; reads every
   *  page, so prefer `list` for large namespaces. */
  keys(pattern?: string): Promise<string[]>;
  /** A page of entries in key order (at most `limit`, 1–100, default 100) and the cursor
   *  of the next page (`null` after the last). */
  list<T = unknown>(options?: ListOptions): Promise<StoragePage<T>>;
  /**
   * Values whose fields match `where`, a page at a time in key order. `where` maps dotted
   * field paths to a value (equality) or to operators:
   * `search({ status: "open", priority: { $gte: 3 }, "customer.name": "Acme" }, { limit: 20 })`.
   * Sensitive values never match.
   */
  search<T = unknown>(where?: SearchWhere, options?: PageOptions): Promise<StoragePage<T>>;
  /** Earlier revisions of `key`, newest first (at most 10 are kept; `limit` 1–10).
   *  Deleting the key deletes its history. */
  history<T = unknown>(key: string, options?: { limit?: number }): Promise<StorageRevision<T>[]>;
  /**
   * Runs `callback` in a transaction: committed when it resolves, rolled back when it
   * throws (and when the call ends with it still open, or after the runtime's transaction
   * time limit: `TRANSACTION_EXPIRED`). Keys it reads or writes stay locked until then, so
   * concurrent read-modify-write transactions never lose an update. Only while a request
   * or hook runs (`TRANSACTION_OUTSIDE_CALL` otherwise).
   */
  transaction<R>(callback: (tx: StorageTransaction) => R | Promise<R>): Promise<R>;
}

/** The view of storage inside `storage.transaction(tx => ...)`. */
export interface StorageTransaction {
  namespace(name: string): StorageTransaction;
  get<T = unknown>(key: string): Promise<T | null>;
  getEntry<T = unknown>(key: string): Promise<StorageEntry<T> | null>;
  has(key: string): Promise<boolean>;
  set(key: string, value: unknown, options?: SetOptions): Promise<WriteResult>;
  delete(key: string): Promise<boolean>;
}

/** Options of a write. */
export interface SetOptions {
  /** Seconds until the value expires (and reads as absent). */
  ttlSeconds?: number;
  /** Write only over this revision; 0 writes only when the key is absent. */
  ifRevision?: number;
  /** Store encrypted with the runtime's keys. */
  sensitive?: boolean;
}

/** What a write answers. */
export interface WriteResult {
  /** The new revision (1 for a new key; each write adds 1). */
  revision: number;
  /** RFC 3339 time of expiry, or `null`. */
  expiresAt: string | null;
}

/** A stored value with its bookkeeping. */
export interface StorageEntry<T = unknown> {
  key: string;
  value: T;
  revision: number;
  /** RFC 3339 time of expiry, or `null`. */
  expiresAt: string | null;
}

/** An earlier revision of a key. */
export interface StorageRevision<T = unknown> {
  revision: number;
  value: T;
  /** RFC 3339 time it was written. */
  writtenAt: string;
}

/** Paging of `list` and `search`. */
export interface PageOptions {
  /** 1–100, default 100. */
  limit?: number;
  /** The previous page's `cursor`. */
  cursor?: string | null;
}

/** Options of `list`. */
export interface ListOptions extends PageOptions {
  /** Only keys starting with this. */
  prefix?: string;
}

/** One page of `list` or `search`. */
export interface StoragePage<T = unknown> {
  items: StorageEntry<T>[];
  /** Pass as `cursor` for the next page; `null` after the last. */
  cursor: string | null;
}

/** `search`'s filter: dotted field path → a value (equality) or operators. */
export type SearchWhere = Record<string, JsonValue | SearchOperators>;

/** Comparisons `search` understands on one field. */
export interface SearchOperators {
  $eq?: JsonValue;
  $ne?: JsonValue;
  $gt?: JsonValue;
  $gte?: JsonValue;
  $lt?: JsonValue;
  $lte?: JsonValue;
  /** `true`: the field is present; `false`: absent. */
  $exists?: boolean;
}

/** What `ctx.storage` throws when it refuses or fails (`err.name === "StorageError"`). */
export interface StorageError extends Error {
  name: "StorageError";
  code: StorageErrorCode;
  /** For `REVISION_MISMATCH`: the revision the write expected. */
  expected?: number;
  /** For `REVISION_MISMATCH`: the revision found. */
  found?: number;
}

/** Every `StorageError.code`. */
export type StorageErrorCode =
  /** The isolate has no storage (a build without it). */
  | "UNAVAILABLE"
  /** The install lacks `storage:read` or `storage:write`. */
  | "PERMISSION_DENIED"
  /** A bad key, namespace, value, option, or a value the namespace's schema refuses. */
  | "VALIDATION_FAILED"
  /** The value is over 64 KiB, or the write would pass the tenant's quota. */
  | "QUOTA_EXCEEDED"
  /** `ifRevision` did not match (`expected`, `found`). */
  | "REVISION_MISMATCH"
  /** The transaction already ended. */
  | "TRANSACTION_CLOSED"
  /** The transaction stayed open past the runtime's limit and was rolled back. */
  | "TRANSACTION_EXPIRED"
  /** `transaction()` outside a request or hook (from a timer left running). */
  | "TRANSACTION_OUTSIDE_CALL"
  /** Too many transactions or calls at once; try again. */
  | "BUSY"
  /** `sensitive: true` without the runtime's encryption keys. */
  | "ENCRYPTION_UNAVAILABLE"
  /** A sensitive value could not be decrypted (its key was removed). */
  | "DECRYPTION_FAILED"
  /** The runtime's database cannot be reached right now (restarting, or out of reach);
   *  nothing was done, and the same call may work in a moment. Left uncaught, the caller
   *  gets `503 STORE_UNAVAILABLE`. */
  | "STORE_UNAVAILABLE"
  /** The store failed; the server's log has the cause. */
  | "INTERNAL";

// ---------------------------------------------------------------------------------------
// ctx.api
// ---------------------------------------------------------------------------------------

/**
 * The host app's REST API (`/api/v1/...`) for this call's tenant and user. Each path needs
 * a granted capability (`GET /api/v1/tickets` needs `tickets:read`); the check happens
 * before any network traffic, and redirects are followed only on the host's origin and
 * capabilities. A refusal throws an {@link ApiError}.
 */
export interface HostApi {
  /** Any method; resolves whatever the status. */
  request<T = unknown>(method: string, path: string, options?: ApiRequestOptions): Promise<ApiResponse<T>>;
  /** Resolves to the body; throws `HTTP_ERROR` (with `status` and `body`) unless 2xx. */
  get<T = unknown>(path: string, options?: ApiCallOptions): Promise<T>;
  delete<T = unknown>(path: string, options?: ApiCallOptions): Promise<T>;
  post<T = unknown>(path: string, body?: unknown, options?: ApiCallOptions): Promise<T>;
  put<T = unknown>(path: string, body?: unknown, options?: ApiCallOptions): Promise<T>;
  patch<T = unknown>(path: string, body?: unknown, options?: ApiCallOptions): Promise<T>;
}

/** Options of a short-form call. */
export interface ApiCallOptions {
  /** Extra request headers; `authorization`, `cookie`, `host` and framing headers are the
   *  runtime's (`INVALID_ARGUMENT`). */
  headers?: HeadersInit;
  /** Appended to the path as a query string. */
  query?: Record<string, string> | URLSearchParams | Array<[string, string]>;
}

/** Options of `request`. */
export interface ApiRequestOptions extends ApiCallOptions {
  /** Sent as JSON. */
  body?: unknown;
}

/** What `request` resolves to. */
export interface ApiResponse<T = unknown> {
  status: number;
  headers: Array<[string, string]>;
  /** Parsed when the host answered JSON, text otherwise, `null` when empty. */
  body: T;
}

/** What `ctx.api` throws (`err.name === "ApiError"`). */
export interface ApiError extends Error {
  name: "ApiError";
  code: ApiErrorCode;
  /** For `HTTP_ERROR`: the host's status. */
  status?: number;
  /** For `HTTP_ERROR`: the host's body. */
  body?: unknown;
}

/** Every `ApiError.code`. */
export type ApiErrorCode =
  /** The isolate has no host API client. */
  | "UNAVAILABLE"
  /** The runtime was started without `--host-api-url`. */
  | "NOT_CONFIGURED"
  /** Not a plain absolute `/api/v1/...` path (dot segments, encoded slashes, ...). */
  | "INVALID_PATH"
  /** A header the runtime owns, or a bad method. */
  | "INVALID_ARGUMENT"
  /** The path needs a capability the install was not granted, or no user is calling. */
  | "PERMISSION_DENIED"
  /** The host redirected off its origin, or too often. */
  | "REDIRECT_REFUSED"
  /** The host's answer could not be read (invalid JSON, a redirect without Location). */
  | "INVALID_RESPONSE"
  /** The host's answer is larger than the runtime accepts. */
  | "RESPONSE_TOO_LARGE"
  /** The host did not answer in time. */
  | "TIMEOUT"
  /** The host could not be reached. */
  | "NETWORK_ERROR"
  /** The call failed inside the runtime; the server's log has the cause. */
  | "INTERNAL"
  /** A short-form call (`get`, `post`, ...) got a status outside 2xx (`status`, `body`). */
  | "HTTP_ERROR";

// ---------------------------------------------------------------------------------------
// fetch()
// ---------------------------------------------------------------------------------------

/**
 * What the global `fetch()` rejects with when the runtime refuses or the request fails: a
 * `TypeError` (as browsers reject), `err.name === "FetchError"`. `fetch` reaches only the
 * hosts the manifest lists as `fetch:<host>` capabilities and an admin granted, over
 * http(s), never a private, loopback or link-local address unless the operator allows it;
 * bodies, redirects and time are capped.
 */
export interface FetchError extends TypeError {
  name: "FetchError";
  code: FetchErrorCode;
}

/** Every `FetchError.code`. */
export type FetchErrorCode =
  /** The isolate has no fetch client. */
  | "UNAVAILABLE"
  /** A bad URL (not http(s), credentials in it), method or header the runtime owns. */
  | "INVALID_ARGUMENT"
  /** The host is not among the granted `fetch:<host>` capabilities (the message names them). */
  | "HOST_NOT_ALLOWED"
  /** The host resolves to a private, loopback, link-local or otherwise internal address. */
  | "ADDRESS_REFUSED"
  /** A redirect went to a host or address that is not allowed, or there were too many. */
  | "REDIRECT_REFUSED"
  /** The request body is over the runtime's limit. */
  | "REQUEST_TOO_LARGE"
  /** The response body is over the runtime's limit. */
  | "RESPONSE_TOO_LARGE"
  /** No answer within the runtime's time limit. */
  | "TIMEOUT"
  /** The host could not be reached. */
  | "NETWORK_ERROR"
  /** The request failed inside the runtime; the server's log has the cause. */
  | "INTERNAL";

// ---------------------------------------------------------------------------------------
// Error codes callers see
// ---------------------------------------------------------------------------------------

/** An `HttpError` code: the runtime's own (for autocompletion) or any other
 *  SCREAMING_SNAKE_CASE code. */
export type ErrorCode = RuntimeErrorCode | (Uppercase<string> & {});

/**
 * Codes the runtime itself answers in `{ "error": { "code" } }` on the routes that reach an
 * extension (`/api/extensions/...`, `/api/ui/...`, `/ext-pages/...`, `/ext-ui/...`) and in
 * its shared error paths. A caller of your endpoints (your page's `callHandler`, the host)
 * may meet these besides your own `HttpError` codes.
 */
export type RuntimeErrorCode =
  /** No token, or not a bearer token. */
  | "UNAUTHENTICATED"
  /** The token's signature, issuer, audience or algorithm is wrong. */
  | "INVALID_TOKEN"
  /** The token has expired. */
  | "TOKEN_EXPIRED"
  /** The tenant passed its request rate (`Retry-After` says when to retry). */
  | "RATE_LIMITED"
  /** No such extension, endpoint, page or asset in the caller's tenant. */
  | "NOT_FOUND"
  /** The path exists for other methods. */
  | "METHOD_NOT_ALLOWED"
  /** The caller lacks the endpoint's `permission` (`details.required`). */
  | "FORBIDDEN"
  /** The extension awaits an admin's approval. */
  | "EXTENSION_PENDING"
  /** The extension is disabled in this tenant. */
  | "EXTENSION_DISABLED"
  /** The circuit breaker suspended the extension (`details.reason`, `details.since`). */
  | "EXTENSION_SUSPENDED"
  /** The feature needs the enterprise edition. */
  | "EDITION_REQUIRED"
  /** The request body is over the endpoint's `maxBodyBytes`. */
  | "BODY_TOO_LARGE"
  /** The request body is not JSON where JSON is required. */
  | "INVALID_JSON"
  /** The request body's content type is not accepted. */
  | "UNSUPPORTED_MEDIA_TYPE"
  /** A query parameter or body field is invalid (`details.field`). */
  | "INVALID_ARGUMENT"
  /** A request body failed validation (`details.problems`). */
  | "VALIDATION_FAILED"
  /** The extension's code threw and did not catch it (`details.requestId`; `details.stack`
   *  in development mode), or answered a status outside 200–599. */
  | "EXTENSION_ERROR"
  /** The call used more CPU time than the extension's limit. */
  | "EXTENSION_CPU_LIMIT"
  /** The isolate ran out of its memory limit. */
  | "EXTENSION_MEMORY_LIMIT"
  /** The call did not finish within the extension's wall-clock limit. */
  | "EXTENSION_TIMEOUT"
  /** Too many calls are queued, or the server is at its isolate budget (`Retry-After`). */
  | "EXTENSION_OVERLOADED"
  /** The runtime's database cannot be reached right now (`Retry-After`); also what an
   *  uncaught `StorageError` with this code answers. */
  | "STORE_UNAVAILABLE"
  /** A data widget did not answer within the widget budget. */
  | "WIDGET_TIMEOUT"
  /** A data widget answered more data than allowed. */
  | "WIDGET_TOO_LARGE"
  /** A data widget did not answer JSON. */
  | "WIDGET_INVALID_DATA"
  /** A page's signed URL is invalid or expired. */
  | "PAGE_URL_INVALID"
  /** The page bridge's `apiproxy`: the endpoint answered a status outside 2xx. */
  | "EXTENSION_STATUS"
  /** An asset URL names a content hash that is not the serving version's. */
  | "INVALID_CONTENT_HASH"
  /** An asset path is not a plain path in the bundle. */
  | "INVALID_PATH"
  /** The request took too long to arrive. */
  | "TIMEOUT"
  /** The tenant id is not valid. */
  | "INVALID_TENANT"
  /** A write raced another (`details.expected`, `details.current`). */
  | "REVISION_MISMATCH"
  /** Over the tenant's storage quota. */
  | "QUOTA_EXCEEDED"
  /** The thing being created already exists. */
  | "CONFLICT"
  /** Admin API: this version is already installed with other contents. */
  | "VERSION_IMMUTABLE"
  /** Admin API: the upload is older than the installed version. */
  | "DOWNGRADE_REFUSED"
  /** Admin API: there is no pending version to approve. */
  | "NOTHING_TO_APPROVE"
  /** Admin API: the extension has not been approved. */
  | "NOT_APPROVED"
  /** Admin API: the tenant has as many extensions as it may. */
  | "EXTENSION_LIMIT"
  /** Admin API: a lifecycle hook threw, so the change was refused. */
  | "HOOK_FAILED"
  /** Admin API: saved settings do not match the manifest (`details.problems`). */
  | "SETTINGS_INVALID"
  /** Something failed inside the runtime; its log has the cause. */
  | "INTERNAL";
