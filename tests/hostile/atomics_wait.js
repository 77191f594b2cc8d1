// attack: blocks its thread with Atomics.wait for 25 s (it used to escape both the CPU and the wall-clock limit)
// expect: 200
// body: {"blocked":false}
export function attack() {
  const started = Date.now();
  const attempts = [
    () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25000),
    () => Atomics.wait(new Int32Array(4), 0, 0, 25000),
    () => Atomics.wait(new Int32Array(new ArrayBuffer(4, { maxByteLength: 8 })), 0, 0, 25000),
  ];
  for (const attempt of attempts) {
    try {
      attempt();
    } catch {
      // TypeError: refused.
    }
  }
  return { body: { blocked: Date.now() - started > 1000 } };
}
