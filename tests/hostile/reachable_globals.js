// attack: walks every object reachable from globalThis, ctx, the request and the SDK (own properties, symbols, accessors, prototypes) looking for runtime internals
// expect: 200
// body: {"internals":[]}
import * as sdk from "@alga/sdk";

// Names that only runtime internals carry: deno_core's op table and bootstrap objects.
const FORBIDDEN_KEYS = new Set(["Deno", "__bootstrap", "core", "ops", "primordials", "internals", "__algaStorage", "__algaApi", "_payload"]);

export function attack(request, ctx) {
  const seen = new Set();
  const internals = [];
  const queue = [[globalThis, "globalThis"], [ctx, "ctx"], [request, "request"], [sdk, "sdk"]];
  while (queue.length > 0 && seen.size < 200000) {
    const [value, path] = queue.shift();
    if (value === null || (typeof value !== "object" && typeof value !== "function")) continue;
    if (seen.has(value)) continue;
    seen.add(value);
    if (typeof value === "function" && /^op_/.test(value.name)) internals.push(`${path} is the op ${value.name}`);
    let keys = [];
    try {
      keys = Reflect.ownKeys(value);
    } catch {
      continue;
    }
    for (const key of keys) {
      const name = typeof key === "symbol" ? key.toString() : key;
      if (FORBIDDEN_KEYS.has(name)) internals.push(`${path}.${name}`);
      let descriptor;
      try {
        descriptor = Reflect.getOwnPropertyDescriptor(value, key);
      } catch {
        continue;
      }
      if (!descriptor) continue;
      for (const [part, next] of [["", descriptor.value], [" (get)", descriptor.get], [" (set)", descriptor.set]]) {
        if (next !== undefined) queue.push([next, `${path}.${name}${part}`]);
      }
    }
    try {
      const proto = Reflect.getPrototypeOf(value);
      if (proto) queue.push([proto, `${path}.[[Prototype]]`]);
    } catch {
      // A revoked proxy, say.
    }
  }
  return { body: { internals } };
}
