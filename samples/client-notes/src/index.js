// Client Notes: shared notes about clients over the extension's storage — revisions against lost
// updates (409 on a conflict), field search, each note's history, and admin export/import.
import { HttpError, json } from "@alga/sdk";
import { clientId, etag, expectedRevision, noteFields } from "./notes.js";

/** @param {import("@alga/sdk").Ctx} ctx */
const notes = (ctx) => ctx.storage.namespace("notes");

/** A stored note with the revision a later edit must name. */
const withRevision = (entry) => ({ ...entry.value, revision: entry.revision });

async function entryOr404(ctx, noteId) {
  const entry = await notes(ctx).getEntry(noteId);
  if (entry === null) throw new HttpError(404, "NOTE_NOT_FOUND", `no note ${noteId}`, { noteId });
  return entry;
}

/** What a conflict answers: the revision now stored and the note as it is, for the caller to merge. */
async function conflict(ctx, noteId, expected) {
  const current = await notes(ctx).getEntry(noteId);
  if (current === null) throw new HttpError(404, "NOTE_NOT_FOUND", `note ${noteId} was deleted meanwhile`, { noteId });
  throw new HttpError(409, "REVISION_MISMATCH", `note ${noteId} is at revision ${current.revision}, not ${expected}: someone changed it since you read it`, {
    expected,
    current: current.revision,
    note: withRevision(current),
  });
}

/**
 * GET /notes?client=&author=&pinned=&tag=&since=&limit=&cursor=: notes whose fields match, in
 * key order, a page at a time (`cursor` is the previous page's). Search compares stored
 * values, so it finds notes by client, author, pin and last change without an index of our own.
 */
export async function searchNotes(request, ctx) {
  const { client, author, pinned, since, limit, cursor } = request.query;
  const where = {};
  if (client !== undefined) where.clientId = clientId(client, "client");
  if (author !== undefined) where.author = author;
  if (pinned !== undefined) {
    if (pinned !== "true" && pinned !== "false") throw new HttpError(400, "VALIDATION_FAILED", "pinned: true or false", { field: "pinned" });
    where.pinned = pinned === "true";
  }
  if (since !== undefined) {
    if (Number.isNaN(Date.parse(since))) throw new HttpError(400, "VALIDATION_FAILED", "since: a date such as 2025-03-01 or 2025-03-01T09:00:00Z", { field: "since" });
    // ISO timestamps in UTC sort as text, so a string range is a time range.
    where.updatedAt = { $gte: new Date(since).toISOString() };
  }
  const size = limit === undefined ? 50 : Number(limit);
  if (!Number.isInteger(size) || size < 1 || size > 100) throw new HttpError(400, "VALIDATION_FAILED", "limit: 1 to 100", { field: "limit" });
  const page = await notes(ctx).search(where, { limit: size, cursor });
  const found = page.items.map(withRevision).filter((note) => request.query.tag === undefined || note.tags.includes(request.query.tag.toLowerCase()));
  return json({ notes: found, cursor: page.cursor });
}

/** POST /notes {"clientId", "title", "body"?, "tags"?, "pinned"?}: a new note at revision 1. */
export async function createNote(request, ctx) {
  const client = clientId(request.body?.clientId);
  const at = new Date().toISOString();
  const note = { id: crypto.randomUUID(), clientId: client, ...noteFields(request.body), author: ctx.user.id, createdAt: at, updatedAt: at, updatedBy: ctx.user.id };
  // `ifRevision: 0` writes only if the key is absent: a repeated id could never overwrite a note.
  const { revision } = await notes(ctx).set(note.id, note, { ifRevision: 0 });
  ctx.log.info("note created", { id: note.id, client });
  return json({ ...note, revision }, { status: 201, headers: { etag: etag(revision) } });
}

/** GET /notes/:noteId: the note, its revision in the body and as the ETag. */
export async function getNote(request, ctx) {
  const entry = await entryOr404(ctx, request.params.noteId);
  return json(withRevision(entry), { headers: { etag: etag(entry.revision) } });
}

/**
 * PUT /notes/:noteId {"revision", …fields}: writes only over the revision the caller read
 * (`ifRevision`). Two technicians editing the same note: the second save gets 409 with the
 * first one's text instead of erasing it.
 */
export async function updateNote(request, ctx) {
  const { noteId } = request.params;
  const expected = expectedRevision(request);
  const entry = await entryOr404(ctx, noteId);
  if (request.body?.clientId !== undefined && request.body.clientId !== entry.value.clientId) {
    throw new HttpError(400, "VALIDATION_FAILED", "clientId: a note stays with its client; create a new note for another one", { field: "clientId" });
  }
  const note = { ...entry.value, ...noteFields(request.body, entry.value), updatedAt: new Date().toISOString(), updatedBy: ctx.user.id };
  try {
    const { revision } = await notes(ctx).set(noteId, note, { ifRevision: expected });
    return json({ ...note, revision }, { headers: { etag: etag(revision) } });
  } catch (error) {
    if (error.code === "REVISION_MISMATCH") return conflict(ctx, noteId, expected);
    throw error;
  }
}

/**
 * DELETE /notes/:noteId?revision=N: deletes the note only if it is still at that revision.
 * Storage has no conditional delete, so a transaction reads and deletes with the key locked.
 */
export async function deleteNote(request, ctx) {
  const { noteId } = request.params;
  const expected = Number(request.query.revision);
  if (!Number.isInteger(expected) || expected < 1) {
    throw new HttpError(428, "REVISION_REQUIRED", "say which revision you are deleting: ?revision=N", { field: "revision" });
  }
  const outcome = await ctx.storage.transaction(async (tx) => {
    const entry = await tx.namespace("notes").getEntry(noteId);
    if (entry === null) return "missing";
    if (entry.revision !== expected) return "changed";
    await tx.namespace("notes").delete(noteId);
    return "deleted";
  });
  if (outcome === "missing") throw new HttpError(404, "NOTE_NOT_FOUND", `no note ${noteId}`, { noteId });
  if (outcome === "changed") return conflict(ctx, noteId, expected);
  ctx.log.info("note deleted", { id: noteId });
  return null;
}

/** GET /notes/:noteId/history: the current revision, then the earlier ones (the last 10), newest first. */
export async function noteHistory(request, ctx) {
  const entry = await entryOr404(ctx, request.params.noteId);
  const earlier = await notes(ctx).history(request.params.noteId);
  const revisions = [
    { revision: entry.revision, note: entry.value, writtenAt: entry.value.updatedAt },
    ...earlier.map((item) => ({ revision: item.revision, note: item.value, writtenAt: item.writtenAt })),
  ];
  return json({ noteId: request.params.noteId, revisions });
}
