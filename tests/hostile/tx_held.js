// attack: holds a transaction open past the maximum duration inside its request
// expect: 200
// body: {"code":"TRANSACTION_EXPIRED","stored":null}
// sqlite-lock: held
export async function attack(request, ctx) {
  let code = null;
  try {
    await ctx.storage.transaction(async (tx) => {
      await tx.set("held", 1);
      await new Promise((r) => setTimeout(r, 900));
    });
  } catch (e) {
    code = e.code;
  }
  return { body: { code, stored: await ctx.storage.get("held") } };
}
