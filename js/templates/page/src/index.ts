// __NAME__: the endpoints its page calls through the host (the Page SDK's callHandlerJson).
import type { Ctx, HandlerRequest, HandlerResult } from "@alga/sdk";

/** GET /greeting: the configured greeting for the calling user. */
export async function greeting(_request: HandlerRequest, ctx: Ctx): Promise<HandlerResult> {
  const { greeting } = (await ctx.settings.get()) as { greeting: string };
  const visits = ((await ctx.storage.get("visits")) as number | null) ?? 0;
  return { body: { text: `${greeting}, ${ctx.user.id}!`, visits } };
}

/** POST /visits: counts a visit (a transaction: concurrent visits are never lost). */
export async function countVisit(_request: HandlerRequest, ctx: Ctx): Promise<HandlerResult> {
  const visits = await ctx.storage.transaction(async (tx) => {
    const next = (((await tx.get("visits")) as number | null) ?? 0) + 1;
    await tx.set("visits", next);
    return next;
  });
  return { body: { visits } };
}
