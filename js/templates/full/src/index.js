// __NAME__: checklists on tickets — endpoints, the data of a dashboard widget, over the
// extension's own storage (one namespace per ticket, a running count of open items) and the
// host app's tickets.

const items = (store, ticketId) => store.namespace(`ticket-${ticketId}`);

const failure = (status, code, message, field) => ({ status, body: { error: { code, message, details: field ? { field } : null } } });

/** The ticket from the host app, or `null` when it has none by that id (its 404). */
async function ticketOf(id, ctx) {
  try {
    return await ctx.api.get(`/api/v1/tickets/${encodeURIComponent(id)}`);
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

/** GET /tickets/:ticketId/items: the ticket (from the host app) and its checklist. */
export async function listItems(request, ctx) {
  const ticket = await ticketOf(request.params.ticketId, ctx);
  if (!ticket) return failure(404, "TICKET_NOT_FOUND", `the host app has no ticket ${request.params.ticketId}`);
  const { order } = await ctx.settings.get();
  const list = (await items(ctx.storage, ticket.id).list({ limit: 100 })).items.map((item) => item.value);
  list.sort((a, b) => (order === "newest first" ? b.at.localeCompare(a.at) : a.at.localeCompare(b.at)));
  return { body: { ticket: { id: ticket.id, title: ticket.title }, items: list } };
}

/** POST /tickets/:ticketId/items {"text"}: adds an open item and counts it, in one transaction. */
export async function addItem(request, ctx) {
  const text = typeof request.body?.text === "string" ? request.body.text.trim() : "";
  if (!text) return failure(400, "VALIDATION_FAILED", "text: name the item", "text");
  const { maxItems } = await ctx.settings.get();
  const ticketId = request.params.ticketId;
  if ((await items(ctx.storage, ticketId).size()) >= maxItems) return failure(409, "CHECKLIST_FULL", `a checklist holds at most ${maxItems} items`);
  const item = { id: crypto.randomUUID(), text, done: false, at: new Date().toISOString(), by: ctx.user.id };
  await ctx.storage.transaction(async (tx) => {
    await items(tx, ticketId).set(item.id, item);
    await tx.set("open", ((await tx.get("open")) ?? 0) + 1);
  });
  return { status: 201, body: item };
}

/** POST /tickets/:ticketId/items/:itemId/done: ticks an item once; the open count follows. */
export async function tickItem(request, ctx) {
  const { ticketId, itemId } = request.params;
  const done = await ctx.storage.transaction(async (tx) => {
    const item = await items(tx, ticketId).get(itemId);
    if (!item) return null;
    if (!item.done) {
      await items(tx, ticketId).set(itemId, { ...item, done: true });
      await tx.set("open", Math.max(0, ((await tx.get("open")) ?? 1) - 1));
    }
    return { ...item, done: true };
  });
  return done ? { body: done } : failure(404, "NOT_FOUND", `no item ${itemId} on ticket ${ticketId}`);
}

/** The dashboard widget's rows. */
export async function openItems(_request, ctx) {
  const { showWidget } = await ctx.settings.get();
  if (!showWidget) return { body: { rows: [{ name: "Turned off in the settings" }] } };
  const open = (await ctx.storage.get("open")) ?? 0;
  return { body: { rows: [{ name: `${open} open checklist item${open === 1 ? "" : "s"}` }] } };
}
