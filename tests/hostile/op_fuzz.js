// attack: calls every function the glue exposes (globals, their prototypes, ctx.storage, ctx.api, ctx.log, the SDK) with hostile arguments: wrong types, huge and NUL-laden strings, deep objects, throwing getters, proxies
// expect: 200
// body: {"survived":true,"called":true}
// sqlite-lock: held
import * as sdk from "@alga/sdk";

function hostileArguments() {
  let deep = {};
  for (let i = 0; i < 300; i++) deep = { d: deep };
  let deepArray = [];
  for (let i = 0; i < 300; i++) deepArray = [deepArray];
  const throwing = { get value() { throw new Error("getter"); }, toString() { throw new Error("toString"); }, valueOf() { throw new Error("valueOf"); } };
  const proxy = new Proxy({}, { get() { throw new Error("proxy"); }, ownKeys() { throw new Error("proxy keys"); } });
  return [
    [],
    [undefined],
    [null],
    [0, -1, NaN, Infinity, 2 ** 53, -(2 ** 31), 2 ** 32],
    [4294967295, 4294967296],
    ["", "\u0000", "a\u0000b"],
    ["x".repeat(1 << 16)],
    ["\ud800", "\udfff\ud800"],
    [Symbol("s")],
    [10n],
    [{}, [], () => {}],
    [deep],
    [deepArray],
    [throwing, throwing, throwing],
    [proxy, proxy],
    [new Uint8Array(1 << 16), new ArrayBuffer(8), new DataView(new ArrayBuffer(4))],
    ["k", { toJSON() { throw new Error("toJSON"); } }],
    ["k", deep],
    ["k", "v", { ttl: -1, ifRevision: "x", sensitive: proxy }],
    ["/api/v1/tickets/../../admin", { method: "\u0000", headers: proxy, body: deep }],
  ];
}

// Functions worth calling: own function-valued data properties of these objects and of
// their prototypes (not constructors' innards: calling a class without `new` just throws).
function functionsOf(root, name) {
  const found = [];
  const seen = new Set();
  const visit = (value, path, depth) => {
    if (value === null || (typeof value !== "object" && typeof value !== "function") || seen.has(value) || depth > 3) return;
    seen.add(value);
    if (typeof value === "function") found.push([path, value, undefined]);
    for (const key of Reflect.ownKeys(value)) {
      if (key === "constructor" || key === "caller" || key === "arguments") continue;
      const d = Reflect.getOwnPropertyDescriptor(value, key);
      if (d && "value" in d) {
        if (typeof d.value === "function") found.push([`${path}.${String(key)}`, d.value, value]);
        visit(d.value, `${path}.${String(key)}`, depth + 1);
      }
    }
    const proto = Reflect.getPrototypeOf(value);
    if (proto && !BUILTIN_PROTOTYPES.has(proto)) visit(proto, `${path}.[[Prototype]]`, depth + 1);
  };
  visit(root, name, 0);
  return found;
}

// JavaScript's own prototypes: calling their methods on themselves only pollutes this
// isolate's builtins (prototype_pollution.js covers that), it reaches no op.
const BUILTIN_PROTOTYPES = new Set([Object, Function, Array, Promise, Error, String, Number, Boolean, Symbol, Map, Set, WeakMap, WeakSet, ArrayBuffer, DataView, Date, RegExp]
  .map((c) => c.prototype)
  .concat([Reflect.getPrototypeOf(Uint8Array.prototype), Uint8Array.prototype]));

const SKIP = new Set(["setInterval", "setTimeout", "queueMicrotask", "eval"]);

export async function attack(request, ctx) {
  const targets = [
    ...functionsOf(ctx, "ctx"),
    ...functionsOf(sdk, "sdk"),
    ...["atob", "btoa", "structuredClone", "fetch", "clearTimeout", "clearInterval"].filter((n) => typeof globalThis[n] === "function").map((n) => [n, globalThis[n], globalThis]),
    ...functionsOf(globalThis.crypto, "crypto"),
    ...["TextEncoder", "TextDecoder", "URL", "URLSearchParams", "Headers", "Request", "Response", "AbortController", "EventTarget", "Event", "DOMException"]
      .filter((n) => typeof globalThis[n] === "function")
      .flatMap((n) => {
        const out = [];
        for (const args of [["http://a", {}]]) {
          try {
            const instance = new globalThis[n](...args);
            out.push(...functionsOf(instance, `new ${n}`).map(([p, f]) => [p, f, instance]));
          } catch {
            // Refused constructor arguments are fine.
          }
        }
        return out;
      }),
  ];
  const pending = [];
  const argumentLists = hostileArguments();
  for (const [path, fn, self] of targets) {
    if (SKIP.has(path.split(".").pop())) continue;
    for (const args of argumentLists) {
      try {
        const result = Reflect.apply(fn, self, args);
        if (result && typeof result.then === "function") pending.push(Promise.resolve(result).catch(() => {}));
      } catch {
        // A thrown error is the right answer to bad input.
      }
    }
  }
  await Promise.allSettled(pending);
  return { body: { survived: true, called: targets.length > 50 } };
}
