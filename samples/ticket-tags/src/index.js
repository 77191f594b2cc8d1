// Ticket Tags: endpoints, a page and a dashboard widget over the extension's own storage.
import { colorFor, normalizeName } from "./tags.js";

const tags = (ctx) => ctx.storage.namespace("tags");

export async function listTags(_request, ctx) {
  const page = await tags(ctx).list({ limit: 100 });
  return { body: { tags: page.items.map((item) => item.value) } };
}

export async function createTag(request, ctx) {
  const name = normalizeName(request.body?.name);
  const { palette } = await ctx.settings.get();
  const tag = { id: crypto.randomUUID(), name, color: colorFor(name, palette), uses: 0 };
  await tags(ctx).set(tag.id, tag, { ifRevision: 0 });
  ctx.log.info("tag created", { id: tag.id });
  return { status: 201, body: tag };
}

export async function deleteTag(request, ctx) {
  const deleted = await tags(ctx).delete(request.params.id);
  return deleted ? { status: 204 } : { status: 404, body: { error: "no such tag" } };
}

export async function ticketTags(request, ctx) {
  const ticket = await ctx.api.get(`/api/v1/tickets/${encodeURIComponent(request.params.ticketId)}`);
  const ids = (await ctx.storage.get(`ticket:${ticket.id}`)) ?? [];
  const found = await tags(ctx).getBatch(ids);
  return { body: { ticket: ticket.id, tags: [...found.values()] } };
}

/** PUT /tickets/:ticketId/tags/:tagId: attaches a tag to a ticket the host app knows, once. */
export async function attachTag(request, ctx) {
  const { ticketId, tagId } = request.params;
  // The ticket must exist in the host app (tickets:read); an unknown one is the host's 404.
  const ticket = await ctx.api.get(`/api/v1/tickets/${encodeURIComponent(ticketId)}`);
  const { maxTagsPerTicket } = await ctx.settings.get();
  // One transaction: the ticket's list and the tag's use count change together or not at all.
  const outcome = await ctx.storage.transaction(async (tx) => {
    const tag = await tx.namespace("tags").get(tagId);
    if (!tag) return { status: 404, body: { error: { code: "NOT_FOUND", message: `no tag ${tagId}`, details: null } } };
    const ids = (await tx.get(`ticket:${ticket.id}`)) ?? [];
    if (ids.includes(tagId)) return { body: { ticket: ticket.id, tags: ids } };
    if (ids.length >= maxTagsPerTicket) {
      return { status: 409, body: { error: { code: "TOO_MANY_TAGS", message: `a ticket has at most ${maxTagsPerTicket} tags`, details: null } } };
    }
    await tx.set(`ticket:${ticket.id}`, [...ids, tagId]);
    await tx.namespace("tags").set(tagId, { ...tag, uses: tag.uses + 1 });
    return { status: 201, body: { ticket: ticket.id, tags: [...ids, tagId] } };
  });
  return outcome;
}

/** DELETE /tickets/:ticketId/tags/:tagId: takes a tag off a ticket. */
export async function detachTag(request, ctx) {
  const { ticketId, tagId } = request.params;
  return await ctx.storage.transaction(async (tx) => {
    const ids = (await tx.get(`ticket:${ticketId}`)) ?? [];
    if (!ids.includes(tagId)) return { status: 404, body: { error: { code: "NOT_FOUND", message: `ticket ${ticketId} has no tag ${tagId}`, details: null } } };
    await tx.set(`ticket:${ticketId}`, ids.filter((id) => id !== tagId));
    const tag = await tx.namespace("tags").get(tagId);
    if (tag) await tx.namespace("tags").set(tagId, { ...tag, uses: Math.max(0, tag.uses - 1) });
    return { status: 204 };
  });
}

export async function tagsPage(_request, ctx) {
  const page = await tags(ctx).list({ limit: 100 });
  const items = page.items
    .map(({ value }) => `<li style="background:${escapeHtml(value.color)}">${escapeHtml(value.name)}</li>`)
    .join("");
  return `<!doctype html><link rel="stylesheet" href="${ctx.extension.assetsUrl}ui/tags.css"><h1>Tags</h1><ul class="tags">${items}</ul>` +
    // The Page SDK tells the host the page is ready and how tall it is.
    `<script type="module" src="${ctx.extension.assetsUrl}ui/tags-page.js"></script>`;
}

export async function popularTags(_request, ctx) {
  const page = await tags(ctx).list({ limit: 100 });
  const top = page.items.map((i) => i.value).sort((a, b) => b.uses - a.uses).slice(0, 5);
  return { body: { tags: top } };
}

function escapeHtml(text) {
  // Stored values are data, not trusted: a missing or non-string name renders as text too.
  return String(text ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
