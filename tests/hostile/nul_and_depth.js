// attack: NUL in list prefixes, cursors, search values, keys and values, and values nested too deep to re-import (PostgreSQL answered 500; exports failed to re-import)
// expect: 200
// body: {"prefix":"VALIDATION_FAILED","cursor":"VALIDATION_FAILED","search":"VALIDATION_FAILED","searchCursor":"VALIDATION_FAILED","key":"VALIDATION_FAILED","value":"VALIDATION_FAILED","objectKey":"VALIDATION_FAILED","deep":"VALIDATION_FAILED","batch":"VALIDATION_FAILED","fine":1,"written":[null,null,null]}
export async function attack(request, ctx) {
  const s = ctx.storage;
  const code = async (f) => {
    try {
      await f();
      return "accepted";
    } catch (e) {
      return e.code ?? e.name;
    }
  };
  let deep = 1;
  for (let i = 0; i < 127; i++) deep = [deep];
  let fine = 1;
  for (let i = 0; i < 60; i++) fine = [fine];
  // A try may run twice against the same storage: start "fine" over so its revision is 1.
  await s.delete("fine");
  await s.set("fine", fine);
  return {
    body: {
      prefix: await code(() => s.list({ prefix: "a\u0000" })),
      cursor: await code(() => s.list({ cursor: "\u0000" })),
      search: await code(() => s.search({ status: "x\u0000y" })),
      searchCursor: await code(() => s.search({}, { cursor: "\u0000" })),
      key: await code(() => s.set("k\u0000", 1)),
      value: await code(() => s.set("k", { text: "a\u0000b" })),
      objectKey: await code(() => s.set("k", { ["a\u0000"]: 1 })),
      deep: await code(() => s.set("deep", deep)),
      batch: await code(() => s.setBatch({ a: 1, b: "\u0000" })),
      fine: (await s.getEntry("fine")).revision,
      // Nothing a refused write named was stored.
      written: [await s.get("k"), await s.get("deep"), await s.get("a")],
    },
  };
}
