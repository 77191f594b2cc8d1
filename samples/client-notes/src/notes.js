// Client note records: checking what a caller sent and building the stored value, kept apart from the HTTP handlers.
import { HttpError } from "@alga/sdk";

export const MAX_TITLE = 200;
export const MAX_BODY = 20000;
export const MAX_TAGS = 10;
export const MAX_TAG = 30;

const CLIENT_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Refuses a field with 400 VALIDATION_FAILED, naming the field so a form can mark it. */
function invalid(field, message) {
  throw new HttpError(400, "VALIDATION_FAILED", `${field}: ${message}`, { field });
}

/** A client id as the host app spells it (`c-2001`): letters, digits, `.`, `_`, `-`. */
export function clientId(raw, field = "clientId") {
  if (typeof raw !== "string" || !CLIENT_ID.test(raw)) invalid(field, "1 to 64 letters, digits, '.', '_' or '-'");
  return raw;
}

/**
 * The editable fields of a note from a request body. `previous` is the stored note when the
 * body edits one: fields the body leaves out keep their value, so a client may send only what
 * changed.
 */
export function noteFields(body, previous = null) {
  if (body === null || typeof body !== "object" || Array.isArray(body)) invalid("body", "send a JSON object");
  const pick = (name, fallback) => (body[name] === undefined ? fallback : body[name]);
  const title = pick("title", previous?.title);
  if (typeof title !== "string" || title.trim().length === 0 || title.length > MAX_TITLE) {
    invalid("title", `1 to ${MAX_TITLE} characters`);
  }
  const text = pick("body", previous?.body ?? "");
  if (typeof text !== "string" || text.length > MAX_BODY) invalid("body", `text of at most ${MAX_BODY} characters`);
  const tags = pick("tags", previous?.tags ?? []);
  if (!Array.isArray(tags) || tags.length > MAX_TAGS) invalid("tags", `a list of at most ${MAX_TAGS} tags`);
  for (const tag of tags) {
    if (typeof tag !== "string" || tag.trim().length === 0 || tag.length > MAX_TAG) invalid("tags", `each tag has 1 to ${MAX_TAG} characters`);
  }
  const pinned = pick("pinned", previous?.pinned ?? false);
  if (typeof pinned !== "boolean") invalid("pinned", "true or false");
  // Tags are compared case-insensitively by people; stored once each, in lower case.
  return { title: title.trim(), body: text, tags: [...new Set(tags.map((tag) => tag.trim().toLowerCase()))], pinned };
}

/**
 * The revision a caller says it edited: `revision` in the body or an `If-Match: "3"` header
 * (the ETag `GET /notes/:noteId` answered). Without one an update could silently overwrite a
 * colleague's edit, so it is refused with 428.
 */
export function expectedRevision(request) {
  const fromBody = request.body && typeof request.body === "object" ? request.body.revision : undefined;
  const header = request.headers["if-match"];
  const raw = fromBody ?? (header === undefined ? undefined : Number(String(header).replace(/^W\//, "").replaceAll('"', "")));
  if (raw === undefined) {
    throw new HttpError(428, "REVISION_REQUIRED", "say which revision you edited: \"revision\" in the body or an If-Match header", { field: "revision" });
  }
  if (!Number.isInteger(raw) || raw < 1) invalid("revision", "the positive whole number GET /notes/:noteId answered");
  return raw;
}

/** The ETag of a revision, as `If-Match` sends it back. */
export const etag = (revision) => `"${revision}"`;
