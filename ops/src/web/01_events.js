// Events, cancellation and timing for extension code: DOMException, Event, EventTarget,
// AbortController, AbortSignal (with timeout/any), queueMicrotask and a coarse
// performance.now().

const core = globalThis.Deno.core;

// Pending timers live outside the V8 heap (deno_core keeps them in Rust), so the heap limit
// does not bound them: an isolate may hold at most this many at once.
const MAX_PENDING_TIMERS = 10000;
// deno_core's timers are objects; the web's are numbers. Pending ones by their number.
const pendingTimers = new Map();
let nextTimerId = 1;

// Schedules `callback` after `delay` ms (every `delay` ms when `repeat`), counted against
// the isolate's cap; a one-shot timer stops counting when it fires. Answers its number.
function createTimer(callback, delay, repeat) {
  if (pendingTimers.size >= MAX_PENDING_TIMERS) {
    throw new RangeError(`too many pending timers: at most ${MAX_PENDING_TIMERS} may wait at once`);
  }
  const id = nextTimerId++;
  const run = repeat ? callback : () => {
    pendingTimers.delete(id);
    callback();
  };
  pendingTimers.set(id, core.createTimer(run, delay, undefined, repeat, true));
  return id;
}

function cancelTimer(id) {
  const timer = pendingTimers.get(id);
  if (timer === undefined) return;
  pendingTimers.delete(id);
  core.cancelTimer(timer);
}

class DOMException extends Error {
  constructor(message = "", name = "Error") {
    super(message);
    this.name = name;
  }
}

class Event {
  #stopped = false;
  constructor(type, init = {}) {
    if (arguments.length === 0) throw new TypeError("Event: a type is required");
    this.type = String(type);
    this.bubbles = Boolean(init.bubbles);
    this.cancelable = Boolean(init.cancelable);
    this.defaultPrevented = false;
    this.target = null;
    this.currentTarget = null;
    this.timeStamp = Date.now();
  }
  preventDefault() {
    if (this.cancelable) this.defaultPrevented = true;
  }
  stopImmediatePropagation() {
    this.#stopped = true;
  }
  stopPropagation() {}
  static _stopped(event) {
    return event.#stopped;
  }
}

class EventTarget {
  #listeners = new Map();
  addEventListener(type, listener, options = {}) {
    if (listener === null || listener === undefined) return;
    const once = typeof options === "object" && Boolean(options?.once);
    const signal = typeof options === "object" ? options?.signal : undefined;
    if (signal?.aborted) return;
    const list = this.#listeners.get(String(type)) ?? [];
    if (list.some((entry) => entry.listener === listener)) return;
    const entry = { listener, once };
    list.push(entry);
    this.#listeners.set(String(type), list);
    signal?.addEventListener("abort", () => this.removeEventListener(type, listener), { once: true });
  }
  removeEventListener(type, listener) {
    const list = this.#listeners.get(String(type));
    if (!list) return;
    const at = list.findIndex((entry) => entry.listener === listener);
    if (at >= 0) list.splice(at, 1);
  }
  dispatchEvent(event) {
    if (!(event instanceof Event)) throw new TypeError("dispatchEvent: expected an Event");
    event.target = this;
    event.currentTarget = this;
    const handler = this["on" + event.type];
    const listeners = [...(this.#listeners.get(event.type) ?? [])];
    if (typeof handler === "function") listeners.unshift({ listener: handler, once: false, property: true });
    for (const entry of listeners) {
      if (entry.once) this.removeEventListener(event.type, entry.listener);
      const { listener } = entry;
      try {
        if (typeof listener === "function") listener.call(this, event);
        else if (typeof listener?.handleEvent === "function") listener.handleEvent(event);
      } catch (error) {
        // As in browsers and Deno: a throwing listener is reported, the others still run.
        reportError(error);
      }
      if (Event._stopped(event)) break;
    }
    event.currentTarget = null;
    return !event.defaultPrevented;
  }
}

function reportError(error) {
  // An unhandled rejection reaches the runtime's handler, which logs it for the extension.
  Promise.reject(error);
}

function queueMicrotask(callback) {
  if (typeof callback !== "function") throw new TypeError("queueMicrotask: callback must be a function");
  Promise.resolve().then(() => callback());
}

const abortingKey = Symbol("abort");

class AbortSignal extends EventTarget {
  #aborted = false;
  #reason = undefined;
  onabort = null;
  constructor(key) {
    super();
    if (key !== abortingKey) throw new TypeError("AbortSignal: use an AbortController, AbortSignal.abort() or AbortSignal.timeout()");
  }
  get aborted() {
    return this.#aborted;
  }
  get reason() {
    return this.#reason;
  }
  throwIfAborted() {
    if (this.#aborted) throw this.#reason;
  }
  static _abort(signal, reason) {
    if (signal.#aborted) return;
    signal.#aborted = true;
    signal.#reason = reason === undefined ? new DOMException("This operation was aborted", "AbortError") : reason;
    signal.dispatchEvent(new Event("abort"));
  }
  static abort(reason) {
    const signal = new AbortSignal(abortingKey);
    AbortSignal._abort(signal, reason);
    return signal;
  }
  static timeout(ms) {
    const signal = new AbortSignal(abortingKey);
    const timedOut = () => AbortSignal._abort(signal, new DOMException("The operation timed out", "TimeoutError"));
    createTimer(timedOut, Number(ms) || 0, false);
    return signal;
  }
  static any(signals) {
    const signal = new AbortSignal(abortingKey);
    for (const source of signals) {
      if (source.aborted) {
        AbortSignal._abort(signal, source.reason);
        return signal;
      }
    }
    for (const source of signals) {
      source.addEventListener("abort", () => AbortSignal._abort(signal, source.reason), { once: true });
    }
    return signal;
  }
}

class AbortController {
  #signal = new AbortSignal(abortingKey);
  get signal() {
    return this.#signal;
  }
  abort(reason) {
    AbortSignal._abort(this.#signal, reason);
  }
}

// Millisecond resolution on purpose: finer clocks help timing attacks across tenants that
// share a machine (Workers go further and stop the clock during execution). The origin is
// taken on first use: this module runs when the startup snapshot is built, long before.
let origin;
const timeOrigin = () => (origin ??= Date.now());
const performance = Object.freeze({
  get timeOrigin() {
    return timeOrigin();
  },
  now: () => Date.now() - timeOrigin(),
  toJSON: () => ({ timeOrigin: timeOrigin() }),
});

export { AbortController, AbortSignal, cancelTimer, createTimer, DOMException, Event, EventTarget, performance, queueMicrotask };
