// attack: reaches for runtime internals the way the first attacker did (Deno.core, __bootstrap, op_panic, op_print)
// expect: 200
// body: {"reached":[],"panicked":false}
export function attack() {
  const reached = [];
  const tries = {
    Deno: () => globalThis.Deno,
    __bootstrap: () => globalThis.__bootstrap,
    "__bootstrap.core": () => globalThis.__bootstrap?.core,
    "Deno.core": () => globalThis.Deno?.core,
    "Function(return this)": () => Function("return this")().__bootstrap,
    "globalThis via constructor": () => ({}).constructor.constructor("return globalThis")().Deno,
    SharedArrayBuffer: () => globalThis.SharedArrayBuffer,
    WebAssembly: () => globalThis.WebAssembly,
  };
  for (const [name, get] of Object.entries(tries)) {
    try {
      if (get() !== undefined) reached.push(name);
    } catch {
      // Refusal is fine.
    }
  }
  let panicked = false;
  try {
    globalThis.__bootstrap.core.ops.op_panic("x");
    panicked = true;
  } catch {
    // TypeError: __bootstrap is undefined.
  }
  return { body: { reached, panicked } };
}
