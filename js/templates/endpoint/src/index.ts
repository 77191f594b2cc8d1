// __NAME__: two endpoints over the extension's own storage. Call them at
// /api/extensions/__ID__/notes (the host proxies its users' calls there).
import { HttpError } from "@alga/sdk";
import type { Ctx, HandlerRequest, HandlerResult } from "@alga/sdk";

interface Note {
  id: string;
  text: string;
  by: string;
  at: string;
}

const notes = (ctx: Ctx) => ctx.storage.namespace("notes");

/** GET /notes: the newest notes first. */
export async function listNotes(_request: HandlerRequest, ctx: Ctx): Promise<HandlerResult> {
  const page = await notes(ctx).list({ limit: 50 });
  const items = page.items.map((item) => item.value as Note).sort((a, b) => b.at.localeCompare(a.at));
  return { body: { notes: items } };
}

/** POST /notes {"text"}: adds a note written by the calling user. */
export async function addNote(request: HandlerRequest, ctx: Ctx): Promise<HandlerResult> {
  const body = request.body as { text?: unknown } | null;
  const text = typeof body?.text === "string" ? body.text.trim() : "";
  // An HttpError answers its status in the runtime's error shape: { error: { code, message, details } }.
  if (!text) throw new HttpError(400, "VALIDATION_FAILED", "text: write something", { field: "text" });
  const { maxNotes } = (await ctx.settings.get()) as { maxNotes: number };
  if ((await notes(ctx).size()) >= maxNotes) throw new HttpError(409, "TOO_MANY_NOTES", `at most ${maxNotes} notes are kept`);
  const note: Note = { id: crypto.randomUUID(), text, by: ctx.user.id, at: new Date().toISOString() };
  await notes(ctx).set(note.id, note);
  ctx.log.info("note added", { id: note.id });
  return { status: 201, body: note };
}
