// attack: poisons its own builtins (Array.prototype holes, Promise.prototype.then, JSON, Object.prototype getters) before using storage and answering, hoping the runtime's glue or Rust trips over them
// expect: any
export async function attack(request, ctx) {
  Array.prototype[0] = { callback: 1 };
  Array.prototype[1] = "x";
  Object.defineProperty(Object.prototype, "status", { get() { return 101; }, configurable: true });
  Object.prototype.headers = [["upgrade", "websocket"]];
  JSON.stringify = () => '{"status":101,"headers":[["connection","upgrade"]],"body":null}';
  JSON.parse = () => ({ tenant: "someone-else" });
  const then = Promise.prototype.then;
  Promise.prototype.then = function (a, b) {
    return then.call(this, a, b);
  };
  try {
    await ctx.storage.set("k", { a: 1 });
  } catch {
    // Whatever the poisoned glue does, it stays in this isolate.
  }
  return { body: "poisoned" };
}
