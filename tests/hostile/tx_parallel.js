// attack: starts twelve transactions at once (the cap used to count only finished begins)
// expect: 200
// body: {"fulfilled":4,"QUOTA_EXCEEDED":8}
// sqlite-lock: held
export async function attack(request, ctx) {
  const hold = () => new Promise((r) => setTimeout(r, 50));
  const outcomes = await Promise.allSettled(
    Array.from({ length: 12 }, (_, i) => ctx.storage.transaction(async (tx) => {
      await tx.set(`k${i}`, i);
      await hold();
    })),
  );
  const counts = {};
  for (const o of outcomes) {
    const label = o.status === "fulfilled" ? "fulfilled" : o.reason.code;
    counts[label] = (counts[label] ?? 0) + 1;
  }
  return { body: counts };
}
