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
