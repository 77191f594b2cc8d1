// crypto.subtle for extension code: digest (SHA-1/256/384/512) and HMAC keys (importKey,
// exportKey, generateKey, sign, verify). Other algorithms reject with NotSupportedError.
import { op_crypto_digest, op_crypto_get_random_values, op_crypto_hmac_sign, op_crypto_hmac_verify } from "ext:core/ops";
import { DOMException } from "ext:alga_web/01_events.js";

const HASHES = { "SHA-1": 64, "SHA-256": 64, "SHA-384": 128, "SHA-512": 128 };

function hashName(hash, what) {
  const name = String(typeof hash === "object" && hash !== null ? hash.name : hash).toUpperCase();
  if (!(name in HASHES)) throw new DOMException(`${what}: unsupported hash ${name}`, "NotSupportedError");
  return name;
}

function algorithmName(algorithm) {
  return String(typeof algorithm === "object" && algorithm !== null ? algorithm.name : algorithm).toUpperCase();
}

// BufferSource -> a Uint8Array copy, so later changes by the caller cannot race the op.
function bytes(data, what) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  throw new TypeError(`${what}: expected an ArrayBuffer or a typed array`);
}

const secretOf = new WeakMap();

class CryptoKey {
  constructor() {
    throw new TypeError("CryptoKey: use crypto.subtle.importKey or generateKey");
  }
}

function makeKey(raw, hash, extractable, usages) {
  const key = Object.create(CryptoKey.prototype, {
    type: { value: "secret", enumerable: true },
    extractable: { value: Boolean(extractable), enumerable: true },
    algorithm: { value: Object.freeze({ name: "HMAC", hash: Object.freeze({ name: hash }), length: raw.length * 8 }), enumerable: true },
    usages: { value: Object.freeze([...usages]), enumerable: true },
  });
  secretOf.set(key, raw);
  return Object.freeze(key);
}

function checkUsages(usages) {
  const list = [...(usages ?? [])].map(String);
  for (const usage of list) {
    if (usage !== "sign" && usage !== "verify") throw new DOMException(`HMAC keys cannot be used to ${usage}`, "SyntaxError");
  }
  return list;
}

function hmacKey(key, usage) {
  const raw = secretOf.get(key);
  if (raw === undefined) throw new TypeError("expected a CryptoKey");
  if (!key.usages.includes(usage)) throw new DOMException(`the key cannot be used to ${usage}`, "InvalidAccessError");
  return raw;
}

// Every method answers with a promise, as the Web Crypto API does, also for bad arguments.
const subtle = Object.freeze({
  async digest(algorithm, data) {
    return op_crypto_digest(hashName(algorithm, "digest"), bytes(data, "digest")).buffer;
  },
  async importKey(format, keyData, algorithm, extractable, usages) {
    if (algorithmName(algorithm) !== "HMAC") throw new DOMException(`importKey: unsupported algorithm ${algorithmName(algorithm)}`, "NotSupportedError");
    if (format !== "raw") throw new DOMException(`importKey: unsupported format ${format}; use "raw"`, "NotSupportedError");
    const raw = bytes(keyData, "importKey");
    if (raw.length === 0) throw new DOMException("importKey: the key is empty", "DataError");
    return makeKey(raw, hashName(algorithm.hash, "importKey"), extractable, checkUsages(usages));
  },
  async generateKey(algorithm, extractable, usages) {
    if (algorithmName(algorithm) !== "HMAC") throw new DOMException(`generateKey: unsupported algorithm ${algorithmName(algorithm)}`, "NotSupportedError");
    const hash = hashName(algorithm.hash, "generateKey");
    const length = algorithm.length === undefined ? HASHES[hash] * 8 : Number(algorithm.length);
    if (!Number.isInteger(length) || length <= 0 || length % 8 !== 0 || length > 8192) {
      throw new DOMException("generateKey: length must be a positive multiple of 8, at most 8192", "OperationError");
    }
    const raw = new Uint8Array(length / 8);
    op_crypto_get_random_values(raw);
    return makeKey(raw, hash, extractable, checkUsages(usages));
  },
  async exportKey(format, key) {
    const raw = secretOf.get(key);
    if (raw === undefined) throw new TypeError("exportKey: expected a CryptoKey");
    if (format !== "raw") throw new DOMException(`exportKey: unsupported format ${format}; use "raw"`, "NotSupportedError");
    if (!key.extractable) throw new DOMException("exportKey: the key is not extractable", "InvalidAccessError");
    return raw.slice().buffer;
  },
  async sign(algorithm, key, data) {
    if (algorithmName(algorithm) !== "HMAC") throw new DOMException(`sign: unsupported algorithm ${algorithmName(algorithm)}`, "NotSupportedError");
    return op_crypto_hmac_sign(key.algorithm.hash.name, hmacKey(key, "sign"), bytes(data, "sign")).buffer;
  },
  async verify(algorithm, key, signature, data) {
    if (algorithmName(algorithm) !== "HMAC") throw new DOMException(`verify: unsupported algorithm ${algorithmName(algorithm)}`, "NotSupportedError");
    return op_crypto_hmac_verify(key.algorithm.hash.name, hmacKey(key, "verify"), bytes(signature, "verify"), bytes(data, "verify"));
  },
});

export { CryptoKey, subtle };
