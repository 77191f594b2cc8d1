// __NAME__: a data widget; the host renders its rows (each row's `name`) on the dashboard.
import type { Ctx, HandlerRequest, HandlerResult } from "@alga/sdk";

interface Ticket {
  id: string;
  title?: string;
  priority?: string;
}

/** The open tickets of highest priority, through the host app's API (needs tickets:read). */
export async function urgentTickets(_request: HandlerRequest, ctx: Ctx): Promise<HandlerResult> {
  const { howMany } = (await ctx.settings.get()) as { howMany: number };
  const answer = (await ctx.api.get("/api/v1/tickets", { query: { status: "open" } })) as Ticket[] | { data?: Ticket[] };
  const tickets = Array.isArray(answer) ? answer : (answer.data ?? []);
  const rows = tickets
    .slice()
    .sort((a, b) => rank(b.priority) - rank(a.priority))
    .slice(0, howMany)
    .map((ticket) => ({ id: ticket.id, name: `${ticket.title ?? ticket.id} (${ticket.priority ?? "no priority"})` }));
  return { body: { tickets: rows } };
}

function rank(priority: string | undefined): number {
  const ranks: Record<string, number> = { critical: 4, high: 3, medium: 2, low: 1 };
  return ranks[String(priority ?? "").toLowerCase()] ?? 0;
}
