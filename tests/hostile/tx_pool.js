// attack: five extensions of one tenant each hold four transactions at once, more than the whole PostgreSQL pool (it used to starve every tenant and the admin API)
// expect: any
// copies: 5
// sqlite-lock: held
export async function attack(request, ctx) {
  const hold = () => new Promise((r) => setTimeout(r, 600));
  const outcomes = await Promise.allSettled(
    Array.from({ length: 4 }, (_, i) => ctx.storage.transaction(async (tx) => {
      await tx.set(`k${i}`, i);
      await hold();
    })),
  );
  return { body: outcomes.map((o) => o.status) };
}
