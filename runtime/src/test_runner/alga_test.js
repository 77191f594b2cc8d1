// @alga/test: the test API `alga-ext test` gives *.test.js files — test(), expect(), call(),
// widget(), page(), setSettings() and the hooks — and the two exports its runner calls.
//
// Kept to the globals every isolate has: `fetch` is captured now, before a test can replace
// it, and reaches only the runner's gateway (the isolate is granted no other host).
const fetchGateway = globalThis.fetch;
const jsonStringify = JSON.stringify;

/** Every test the file declared, in order: `{ name, fn, mode }` ("run", "skip", "only"). */
const tests = [];
/** Set while a test runs: the runner's gateway URL and the settings `setSettings` last set. */
let running = null;
/** Functions run around every test of the file. */
const hooks = { beforeEach: [], afterEach: [] };

function declare(mode) {
  return (name, fn) => {
    if (typeof name !== "string" || name.trim() === "") throw new TypeError("test(name, fn): name must be a non-empty string");
    if (typeof fn !== "function") throw new TypeError(`test(${jsonStringify(name)}, fn): fn must be a function`);
    if (running !== null) throw new Error(`test(${jsonStringify(name)}) was called inside a running test; declare tests at the top level`);
    tests.push({ name, fn, mode });
  };
}

/** Declares a test: `fn(ctx)` may be async; it fails by throwing (a failed expect throws). */
export const test = declare("run");
/** A test that is listed as skipped and not run. */
test.skip = declare("skip");
/** When any test of a file is `only`, the file's other tests are skipped. */
test.only = declare("only");

/** What a failed expectation throws; the runner reports its message and where expect() was called. */
export class AssertionError extends Error {
  constructor(message, site) {
    super(message);
    this.name = "AssertionError";
    this.site = site;
  }
}

// --- Values in messages --------------------------------------------------------------------

const MAX_SHOWN = 300;

function show(value) {
  let text;
  if (typeof value === "string") text = jsonStringify(value);
  else if (typeof value === "function") text = `[Function ${value.name || "anonymous"}]`;
  else if (typeof value === "bigint") text = `${value}n`;
  else if (value === undefined || typeof value === "symbol" || Number.isNaN(value)) text = String(value);
  else if (value instanceof Error) text = `${value.name}: ${value.message}`;
  else if (value instanceof Map) text = `Map ${show([...value])}`;
  else if (value instanceof Set) text = `Set ${show([...value])}`;
  else {
    const seen = new Set();
    try {
      text = jsonStringify(value, (_key, v) => {
        if (v === undefined) return "[undefined]";
        if (typeof v === "bigint") return `${v}n`;
        if (typeof v === "object" && v !== null) {
          if (seen.has(v)) return "[Circular]";
          seen.add(v);
        }
        return v;
      });
    } catch {
      text = String(value);
    }
  }
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
}

// --- Deep equality (toEqual): own enumerable keys, undefined properties ignored ------------

function equal(a, b, seen = new Map()) {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  // A plain object and a prototype-less one (what storage reads give) are the same data.
  const plain = (o) => [Object.prototype, null].includes(Object.getPrototypeOf(o));
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b) && !(plain(a) && plain(b))) return false;
  if (seen.get(a) === b) return true;
  seen.set(a, b);
  if (a instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof RegExp) return String(a) === String(b);
  if (ArrayBuffer.isView(a)) return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
  if (a instanceof Map) return a.size === b.size && [...a].every(([k, v]) => b.has(k) && equal(v, b.get(k), seen));
  if (a instanceof Set) return a.size === b.size && [...a].every((v) => b.has(v));
  if (Array.isArray(a) && a.length !== b.length) return false;
  const keys = (o) => Object.keys(o).filter((k) => o[k] !== undefined);
  const ka = keys(a);
  const kb = keys(b);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && equal(a[k], b[k], seen));
}

/** Whether `actual` has every property of `subset` (recursively), as toMatchObject checks. */
function matchesObject(actual, subset) {
  if (typeof subset !== "object" || subset === null) return equal(actual, subset);
  if (typeof actual !== "object" || actual === null) return false;
  if (Array.isArray(subset)) return Array.isArray(actual) && actual.length === subset.length && subset.every((v, i) => matchesObject(actual[i], v));
  return Object.keys(subset).every((k) => k in actual && matchesObject(actual[k], subset[k]));
}

// --- expect() ------------------------------------------------------------------------------

function thrownMatches(error, expected) {
  if (expected === undefined) return true;
  const message = error?.message ?? String(error);
  if (typeof expected === "string") return message.includes(expected);
  if (expected instanceof RegExp) return expected.test(message);
  if (typeof expected === "function") return error instanceof expected;
  if (typeof expected === "object" && expected !== null) return matchesObject(error, expected);
  throw new TypeError("toThrow(expected): expected must be a string, RegExp, error class or object");
}

function describeExpected(expected) {
  if (expected === undefined) return "to throw";
  if (typeof expected === "function") return `to throw a ${expected.name}`;
  if (expected instanceof RegExp) return `to throw an error matching ${expected}`;
  return `to throw ${show(expected)}`;
}

/**
 * The checks on one value. Each returns `[passed, message when it fails, message when it
 * fails under .not]`; `expect` turns a failure into an AssertionError.
 */
const checks = {
  toBe: (a, e) => [Object.is(a, e), `expected ${show(e)}, received ${show(a)}`, `expected a value other than ${show(e)}`],
  toEqual: (a, e) => [equal(a, e), `expected (deeply equal) ${show(e)}, received ${show(a)}`, `expected a value not deeply equal to ${show(e)}`],
  toMatchObject: (a, e) => [matchesObject(a, e), `expected ${show(a)} to match ${show(e)}`, `expected ${show(a)} not to match ${show(e)}`],
  toBeTruthy: (a) => [Boolean(a), `expected a truthy value, received ${show(a)}`, `expected a falsy value, received ${show(a)}`],
  toBeFalsy: (a) => [!a, `expected a falsy value, received ${show(a)}`, `expected a truthy value, received ${show(a)}`],
  toBeNull: (a) => [a === null, `expected null, received ${show(a)}`, "expected a value other than null"],
  toBeUndefined: (a) => [a === undefined, `expected undefined, received ${show(a)}`, "expected a value other than undefined"],
  toBeDefined: (a) => [a !== undefined, "expected a defined value, received undefined", `expected undefined, received ${show(a)}`],
  toBeGreaterThan: (a, e) => [a > e, `expected a value greater than ${show(e)}, received ${show(a)}`, `expected a value not greater than ${show(e)}, received ${show(a)}`],
  toBeLessThan: (a, e) => [a < e, `expected a value less than ${show(e)}, received ${show(a)}`, `expected a value not less than ${show(e)}, received ${show(a)}`],
  toHaveLength: (a, e) => [a?.length === e, `expected length ${e}, received length ${a?.length} (${show(a)})`, `expected a length other than ${e}`],
  toMatch: (a, e) => {
    const ok = typeof a === "string" && (e instanceof RegExp ? e.test(a) : a.includes(String(e)));
    return [ok, `expected ${show(a)} to match ${e instanceof RegExp ? e : show(e)}`, `expected ${show(a)} not to match ${e instanceof RegExp ? e : show(e)}`];
  },
  toContain: (a, e) => {
    const ok = typeof a === "string" ? a.includes(e) : a != null && typeof a[Symbol.iterator] === "function" && [...a].some((x) => Object.is(x, e));
    return [ok, `expected ${show(a)} to contain ${show(e)}`, `expected ${show(a)} not to contain ${show(e)}`];
  },
  toThrow: (a, e) => {
    if (typeof a !== "function") throw new TypeError("expect(fn).toThrow(): the value must be a function to call; for a promise use expect(p).rejects.toThrow()");
    try {
      a();
    } catch (error) {
      return [thrownMatches(error, e), `expected the function ${describeExpected(e)}, but it threw ${show(error)}`, `expected the function not to throw, but it threw ${show(error)}`];
    }
    return [false, `expected the function ${describeExpected(e)}, but it returned normally`, ""];
  },
};

/** `toThrow` on a settled promise's reason (`rejects`): the reason is what was thrown. */
function rejectedMatches(reason, e) {
  return [thrownMatches(reason, e), `expected the promise ${describeExpected(e).replace("to throw", "to reject with")}, but it rejected with ${show(reason)}`, `expected the promise not to reject, but it rejected with ${show(reason)}`];
}

function matchers(actual, site, negated) {
  const out = {};
  for (const [name, check] of Object.entries(checks)) {
    out[name] = (...expected) => {
      const [passed, message, negatedMessage] = check(actual, ...expected);
      if (passed === negated) throw new AssertionError(negated ? negatedMessage || `expected .not.${name} to fail` : message, site);
    };
  }
  return out;
}

/** Checks on a promise: `await expect(p).rejects.toThrow("…")`, `await expect(p).resolves.toBe(1)`. */
function promiseMatchers(promise, site, settle) {
  const out = {};
  for (const name of Object.keys(checks)) {
    out[name] = async (...expected) => {
      let outcome;
      try {
        outcome = { value: await promise };
      } catch (reason) {
        outcome = { reason };
      }
      if (settle === "rejects") {
        if (!("reason" in outcome)) throw new AssertionError(`expected the promise to reject, but it resolved to ${show(outcome.value)}`, site);
        if (name === "toThrow") {
          const [passed, message] = rejectedMatches(outcome.reason, expected[0]);
          if (!passed) throw new AssertionError(message, site);
          return;
        }
        return matchers(outcome.reason, site, false)[name](...expected);
      }
      if ("reason" in outcome) throw new AssertionError(`expected the promise to resolve, but it rejected with ${show(outcome.reason)}`, site);
      return matchers(outcome.value, site, false)[name](...expected);
    };
  }
  return out;
}

/** `expect(value).toBe(…)`, `.not.toBe(…)`, `.rejects.toThrow(…)`, `.resolves.toEqual(…)`. */
export function expect(actual) {
  // Where expect() was called: the line a failure points at.
  const site = new Error().stack;
  const out = matchers(actual, site, false);
  out.not = matchers(actual, site, true);
  Object.defineProperty(out, "rejects", { get: () => promiseMatchers(actual, site, "rejects") });
  Object.defineProperty(out, "resolves", { get: () => promiseMatchers(actual, site, "resolves") });
  return out;
}

// --- Calling the extension -----------------------------------------------------------------

async function gateway(route, payload) {
  if (running === null) throw new Error(`${route}() works only while a test runs`);
  const response = await fetchGateway(`${running.gateway}/${route}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: jsonStringify(payload),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer?.error?.message ?? `${route}() failed with status ${response.status}`);
  return answer;
}

/**
 * Calls one of the extension's endpoints through the runtime, as the host app would: the
 * route, the user's roles and permissions, `ctx` and limits all apply. Resolves to
 * `{ status, headers, body }` (a JSON body parsed) whatever the status.
 * `options`: `body`, `query` (object), `headers` (object), `user` (default "tester"),
 * `roles` (default ["admin"]).
 */
export async function call(method, path, options = {}) {
  if (typeof method !== "string" || typeof path !== "string" || !path.startsWith("/")) {
    throw new TypeError('call(method, path, options?): e.g. call("GET", "/tags")');
  }
  const { body, query, headers, user, roles } = options ?? {};
  return await gateway("call", { method, path: withQuery(path, query), body, headers, user, roles });
}

/**
 * Renders one of the extension's dashboard widgets as the host's dashboard gets it: resolves
 * to `{ status, headers, body }` where `body` is the widget's descriptor (`state: "ok"` with
 * `data` or `url`, or `state: "error"` with `code` and `message`).
 * `options`: `user`, `roles`.
 */
export async function widget(id, options = {}) {
  if (typeof id !== "string" || id === "") throw new TypeError('widget(id, options?): e.g. widget("open-tickets")');
  const { user, roles } = options ?? {};
  return await gateway("call", { surface: "widget", method: "GET", path: `/${encodeURIComponent(id)}`, user, roles });
}

/**
 * Opens one of the extension's pages as the host would: asks for its descriptor, then loads
 * the document at its URL (a handler page rendered for the user, or a static entry).
 * Resolves to `{ status, headers, body, page }`: the document's status, headers and text,
 * and the descriptor (`page.kind`, `page.url`, `page.title`); when the descriptor is refused
 * (404, 403), `status` and `body` are that refusal's and `page` is null.
 * `options`: `query` (object), `user`, `roles`.
 */
export async function page(path, options = {}) {
  if (typeof path !== "string" || !path.startsWith("/")) throw new TypeError('page(path, options?): e.g. page("/board")');
  const { query, user, roles } = options ?? {};
  return await gateway("call", { surface: "page", method: "GET", path: withQuery(path, query), user, roles });
}

/** Changes the extension's settings (validated like the admin API does); resolves to the new
 *  values, which the running test's `ctx.settings` shows from then on too. */
export async function setSettings(values) {
  const now = await gateway("settings", { values });
  if (running !== null) running.settings = now;
  return now;
}

/** Runs `fn(ctx)` before each test of the file (after the test's storage is fresh). */
export function beforeEach(fn) {
  hook("beforeEach", fn);
}

/** Runs `fn(ctx)` after each test of the file, whether it passed or failed. */
export function afterEach(fn) {
  hook("afterEach", fn);
}

function hook(name, fn) {
  if (typeof fn !== "function") throw new TypeError(`${name}(fn): fn must be a function`);
  if (running !== null) throw new Error(`${name}() was called inside a running test; call it at the top level`);
  hooks[name].push(fn);
}

function withQuery(path, query) {
  if (query === undefined || query === null) return path;
  const qs = new globalThis.URLSearchParams(query).toString();
  return qs ? path + (path.includes("?") ? "&" : "?") + qs : path;
}

// --- The runner's side (called by the generated main module; not for tests) ---------------

/** Finds `file:line:col` of the first frame of `stack` in `file` (else in any bundle file). */
function locate(stack, file) {
  const frames = [...String(stack ?? "").matchAll(/alga-bundle:\/\/\/([^\s)]+?):(\d+):(\d+)/g)].map((m) => ({
    path: decodeURI(m[1]),
    where: `${decodeURI(m[1])}:${m[2]}:${m[3]}`,
  }));
  return (frames.find((f) => f.path === file) ?? frames[0])?.where ?? null;
}

/** The test's `ctx`, whose `settings` follow `setSettings` calls made during the test. */
function withLiveSettings(ctx) {
  const settings = Object.freeze({
    async get(key) {
      const now = running?.settings;
      if (now === null || now === undefined) return ctx.settings.get(key);
      return key === undefined ? { ...now } : now[key];
    },
  });
  return Object.freeze({ ...ctx, settings });
}

export function __list() {
  const only = tests.some((t) => t.mode === "only");
  return { body: tests.map((t) => ({ name: t.name, skip: t.mode === "skip" || (only && t.mode !== "only") })) };
}

export async function __run(request, ctx) {
  const { index, gateway: url, file, timeoutMs } = request;
  const entry = tests[index];
  if (entry === undefined) throw new Error(`internal: no test number ${index}`);
  running = { gateway: url, settings: null };
  const testCtx = withLiveSettings(ctx);
  const started = Date.now();
  let timer;
  try {
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new AssertionError(`did not finish within ${timeoutMs} ms (--timeout)`, null)), timeoutMs);
    });
    const body = async () => {
      for (const fn of hooks.beforeEach) await fn(testCtx);
      try {
        await entry.fn(testCtx);
      } finally {
        for (const fn of hooks.afterEach) await fn(testCtx);
      }
    };
    await Promise.race([body(), timeout]);
    return { body: { ok: true, ms: Date.now() - started } };
  } catch (error) {
    const assertion = error instanceof AssertionError;
    const message = assertion ? error.message : `${error?.name ?? "Error"}: ${error?.message ?? String(error)}`;
    const location = locate(assertion ? error.site : error?.stack, file) ?? locate(error?.stack, file);
    return { body: { ok: false, ms: Date.now() - started, message, location, stack: assertion ? null : String(error?.stack ?? "") } };
  } finally {
    clearTimeout(timer);
    running = null;
  }
}
