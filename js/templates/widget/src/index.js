// __NAME__: a data widget; the host renders its rows (each row's `name`) on the dashboard.

/** The open tickets of highest priority, through the host app's API (needs tickets:read). */
export async function urgentTickets(_request, ctx) {
  const { howMany } = await ctx.settings.get();
  const tickets = await ctx.api.get("/api/v1/tickets", { query: { status: "open" } });
  const rows = (Array.isArray(tickets) ? tickets : (tickets?.data ?? []))
    .slice()
    .sort((a, b) => rank(b.priority) - rank(a.priority))
    .slice(0, howMany)
    .map((ticket) => ({ id: ticket.id, name: `${ticket.title ?? ticket.id} (${ticket.priority ?? "no priority"})` }));
  return { body: { tickets: rows } };
}

function rank(priority) {
  return { critical: 4, high: 3, medium: 2, low: 1 }[String(priority ?? "").toLowerCase()] ?? 0;
}
