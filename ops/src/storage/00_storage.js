// ctx.storage: the extension's key-value store. Tenant and extension come from the isolate's
// OpState in Rust; JS only names namespaces and keys.
import { op_storage_delete, op_storage_get, op_storage_list, op_storage_set } from "ext:core/ops";

class StorageError extends Error {
  constructor(message, code) {
    super(message);
    this.name = "StorageError";
    this.code = code;
  }
}

// Ops report `CODE: message`; callers get a StorageError with that message and `.code`.
async function call(op) {
  try {
    return await op();
  } catch (err) {
    const message = String(err?.message ?? err);
    const match = /^([A-Z_]+): /.exec(message);
    if (match) throw new StorageError(message, match[1]);
    throw err;
  }
}

function keyOf(key) {
  if (typeof key !== "string") throw new TypeError("storage keys are strings");
  return key;
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
    const entry = await call(() => op_storage_get(this.#namespace, keyOf(key)));
    return entry ? entry.value : null;
  }
  /** The value with its revision and expiry, or null. */
  async getEntry(key) {
    return await call(() => op_storage_get(this.#namespace, keyOf(key)));
  }
  async has(key) {
    return (await this.getEntry(key)) !== null;
  }
  async set(key, value, options = {}) {
    if (value === undefined) throw new TypeError("storage values cannot be undefined; use delete()");
    const { ttlSeconds } = options;
    const entry = await call(() => op_storage_set(this.#namespace, keyOf(key), value, ttlSeconds === undefined ? null : { ttlSeconds }));
    return { revision: entry.revision, expiresAt: entry.expiresAt };
  }
  async delete(key) {
    return await call(() => op_storage_delete(this.#namespace, keyOf(key)));
  }
  /** A page of `{ key, value, revision }` in key order, and the cursor of the next page. */
  async list(options = {}) {
    return await call(() => op_storage_list(this.#namespace, options));
  }
}

Object.defineProperty(globalThis, "__algaStorage", {
  value: Object.freeze({ create: (namespace) => new Storage(namespace), StorageError }),
  configurable: true,
  enumerable: false,
  writable: false,
});
