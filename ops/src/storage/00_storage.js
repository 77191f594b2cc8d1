// ctx.storage: the extension's key-value store. Tenant and extension come from the isolate's
// OpState in Rust; JS only names namespaces and keys.
import {
  op_storage_cached,
  op_storage_clear,
  op_storage_count,
  op_storage_delete,
  op_storage_delete_many,
  op_storage_get,
  op_storage_get_many,
  op_storage_list,
  op_storage_search,
  op_storage_history,
  op_storage_set,
  op_storage_set_many,
  op_storage_tx_begin,
  op_storage_tx_delete,
  op_storage_tx_end,
  op_storage_tx_get,
  op_storage_tx_set,
} from "ext:core/ops";

// What a storage op throws: built by deno_core from the op's Rust error (this class is
// registered for it below), with `code` (and `expected`/`found` for REVISION_MISMATCH)
// set from Rust as properties.
class StorageError extends Error {
  constructor(message, code) {
    super(message);
    this.name = "StorageError";
    // Left undefined, so deno_core can set the op's code on an error it builds.
    if (code !== undefined) this.code = code;
  }
}
globalThis.Deno.core.registerErrorClass("StorageError", StorageError);

function keyOf(key) {
  if (typeof key !== "string") throw new TypeError("storage keys are strings");
  return key;
}

function setOptions({ ttlSeconds, ifRevision, sensitive } = {}) {
  if (ttlSeconds === undefined && ifRevision === undefined && !sensitive) return null;
  const options = {};
  if (ttlSeconds !== undefined) options.ttlSeconds = ttlSeconds;
  if (ifRevision !== undefined) options.ifRevision = ifRevision;
  // Sealed with AES-256-GCM before it leaves the runtime; read back in clear.
  if (sensitive) options.sensitive = true;
  return options;
}

function globToRegExp(glob) {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`, "s");
}

class Storage {
  #namespace;
  constructor(namespace) {
    this.#namespace = namespace;
  }
  get namespaceName() {
    return this.#namespace;
  }
  namespace(name) {
    return new Storage(String(name));
  }
  async get(key) {
    const k = keyOf(key);
    // The process cache answers without a trip through the event loop; a miss reads the store.
    const hit = op_storage_cached(this.#namespace, k);
    if (hit === false) return null;
    if (hit !== null) return hit[0];
    const entry = await op_storage_get(this.#namespace, k);
    return entry ? entry.value : null;
  }
  /** The value with its revision and expiry, or null. */
  async getEntry(key) {
    const k = keyOf(key);
    const hit = op_storage_cached(this.#namespace, k);
    if (hit === false) return null;
    if (hit !== null) return { key: k, value: hit[0], revision: hit[1], expiresAt: hit[2] };
    return await op_storage_get(this.#namespace, k);
  }
  async has(key) {
    return (await this.getEntry(key)) !== null;
  }
  /** Writes a value. `{ ttlSeconds }` expires it; `{ ifRevision }` writes only over that
   *  revision (0: only if absent), else throws REVISION_MISMATCH. */
  async set(key, value, options = {}) {
    if (value === undefined) throw new TypeError("storage values cannot be undefined; use delete()");
    const entry = await op_storage_set(this.#namespace, keyOf(key), value, setOptions(options));
    return { revision: entry.revision, expiresAt: entry.expiresAt };
  }
  /** Values of up to 100 keys, as a Map of the keys that exist. */
  async getBatch(keys) {
    const entries = await op_storage_get_many(this.#namespace, [...keys].map(keyOf));
    return new Map(entries.map((e) => [e.key, e.value]));
  }
  /** Writes up to 100 entries (a Map, an object or [key, value] pairs) all or nothing. */
  async setBatch(entries, options = {}) {
    const list = entries instanceof Map ? [...entries] : Array.isArray(entries) ? entries : Object.entries(entries);
    for (const [k, v] of list) {
      keyOf(k);
      if (v === undefined) throw new TypeError(`storage values cannot be undefined (key ${k})`);
    }
    await op_storage_set_many(this.#namespace, list, setOptions(options));
  }
  /** Deletes up to 100 keys; returns how many existed. */
  async deleteBatch(keys) {
    return Number(await op_storage_delete_many(this.#namespace, [...keys].map(keyOf)));
  }
  /** Deletes everything in this namespace; returns how many values there were. */
  async clear() {
    return Number(await op_storage_clear(this.#namespace));
  }
  /** How many values this namespace holds. */
  async size() {
    return Number(await op_storage_count(this.#namespace));
  }
  /** Keys matching a glob (`*` any run, `?` one character), in key order. */
  async keys(pattern = "*") {
    const regex = globToRegExp(String(pattern));
    const literal = /^[^*?]*/.exec(String(pattern))[0];
    const out = [];
    let cursor;
    do {
      const page = await this.list({ prefix: literal, cursor, limit: 100 });
      for (const item of page.items) if (regex.test(item.key)) out.push(item.key);
      cursor = page.cursor ?? undefined;
    } while (cursor);
    return out;
  }
  async delete(key) {
    return await op_storage_delete(this.#namespace, keyOf(key));
  }
  /** Runs `callback(tx)` in a transaction: committed when it resolves, rolled back when it
   *  throws. Keys it reads or writes stay locked until then, so concurrent read-modify-write
   *  transactions on a key never lose an update. */
  async transaction(callback) {
    const id = await op_storage_tx_begin();
    let result;
    try {
      result = await callback(new Transaction(id, this.#namespace));
    } catch (err) {
      try {
        await op_storage_tx_end(id, false);
      } catch {
        // Already ended; the original error matters.
      }
      throw err;
    }
    await op_storage_tx_end(id, true);
    return result;
  }
  /** The earlier revisions of `key`, newest first: `[{ revision, value, writtenAt }]`. At
   *  most 10 are kept per key; deleting the key deletes its history. */
  async history(key, { limit } = {}) {
    return await op_storage_history(this.#namespace, keyOf(key), limit ?? null);
  }
  /** Values whose fields match `where`, a page at a time in key order:
   *  `search({ status: "open", priority: { $gte: 3 }, "customer.name": "Acme" }, { limit, cursor })`.
   *  Operators: $eq $ne $gt $gte $lt $lte $exists. Sensitive values never match. */
  async search(where = {}, options = {}) {
    if (where === null || typeof where !== "object" || Array.isArray(where)) {
      throw new TypeError("search takes an object of field paths to values or { $op: value }");
    }
    const ops = { $eq: "eq", $ne: "ne", $gt: "gt", $gte: "gte", $lt: "lt", $lte: "lte", $exists: "exists" };
    const filters = [];
    for (const [path, condition] of Object.entries(where)) {
      if (condition !== null && typeof condition === "object" && !Array.isArray(condition)) {
        for (const [name, value] of Object.entries(condition)) {
          const op = ops[name];
          if (op === undefined) throw new TypeError(`unknown search operator ${name} on ${path}; use dotted paths for nested fields`);
          filters.push({ path, op, value });
        }
      } else {
        filters.push({ path, op: "eq", value: condition });
      }
    }
    const args = {};
    if (options.limit !== undefined) args.limit = options.limit;
    if (options.cursor !== undefined && options.cursor !== null) args.cursor = options.cursor;
    return await op_storage_search(this.#namespace, filters, args);
  }
  /** A page of `{ key, value, revision }` in key order, and the cursor of the next page. */
  async list(options = {}) {
    return await op_storage_list(this.#namespace, options);
  }
}

/** The view of storage inside `storage.transaction(tx => ...)`. */
class Transaction {
  #id;
  #namespace;
  constructor(id, namespace) {
    this.#id = id;
    this.#namespace = namespace;
  }
  namespace(name) {
    return new Transaction(this.#id, String(name));
  }
  async get(key) {
    const entry = await op_storage_tx_get(this.#id, this.#namespace, keyOf(key));
    return entry ? entry.value : null;
  }
  async getEntry(key) {
    return await op_storage_tx_get(this.#id, this.#namespace, keyOf(key));
  }
  async has(key) {
    return (await this.getEntry(key)) !== null;
  }
  async set(key, value, options = {}) {
    if (value === undefined) throw new TypeError("storage values cannot be undefined; use delete()");
    const entry = await op_storage_tx_set(this.#id, this.#namespace, keyOf(key), value, setOptions(options));
    return { revision: entry.revision, expiresAt: entry.expiresAt };
  }
  async delete(key) {
    return await op_storage_tx_delete(this.#id, this.#namespace, keyOf(key));
  }
}

Object.defineProperty(globalThis, "__algaStorage", {
  value: Object.freeze({ create: (namespace) => new Storage(namespace), StorageError }),
  configurable: true,
  enumerable: false,
  writable: false,
});
