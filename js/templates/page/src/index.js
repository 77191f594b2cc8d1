// __NAME__: the endpoints its page calls through the host (the Page SDK's callHandlerJson).

/** GET /greeting: the configured greeting for the calling user. */
export async function greeting(_request, ctx) {
  const { greeting } = await ctx.settings.get();
  return { body: { text: `${greeting}, ${ctx.user.id}!`, visits: (await ctx.storage.get("visits")) ?? 0 } };
}

/** POST /visits: counts a visit (a transaction: concurrent visits are never lost). */
export async function countVisit(_request, ctx) {
  const visits = await ctx.storage.transaction(async (tx) => {
    const next = ((await tx.get("visits")) ?? 0) + 1;
    await tx.set("visits", next);
    return next;
  });
  return { body: { visits } };
}
