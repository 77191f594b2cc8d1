// Tests of the Client Notes sample, run by `alga-ext test samples/client-notes`: its validation,
// and its endpoints through the runtime (routing, roles, revisions, search, history, storage schema).
import { call, expect, test } from "@alga/test";
import { clientId, expectedRevision, noteFields, MAX_TAGS, MAX_TITLE } from "./src/notes.js";

const technician = { user: "bob", roles: ["technician"] };

async function createNote(fields, who = {}) {
  const res = await call("POST", "/notes", { ...who, body: { clientId: "c-2001", title: "Door code", ...fields } });
  expect(res.status).toBe(201);
  return res.body;
}

test("note fields are trimmed, tags lower-cased once each, and bad fields are named", () => {
  expect(noteFields({ title: "  Door code ", tags: ["Access", "access ", "VPN"] })).toEqual({ title: "Door code", body: "", tags: ["access", "vpn"], pinned: false });
  expect(() => noteFields({ title: "" })).toThrow("title: 1 to 200 characters");
  expect(() => noteFields({ title: "x".repeat(MAX_TITLE + 1) })).toThrow(/^title/);
  expect(() => noteFields({ title: "t", tags: Array.from({ length: MAX_TAGS + 1 }, (_, i) => `t${i}`) })).toThrow(/^tags/);
  expect(() => noteFields({ title: "t", pinned: "yes" })).toThrow({ status: 400, code: "VALIDATION_FAILED", details: { field: "pinned" } });
  expect(() => clientId("c 2001")).toThrow(/^clientId/);
});

test("an edit keeps the fields it leaves out", () => {
  const previous = { title: "Door code", body: "4711", tags: ["access"], pinned: true };
  expect(noteFields({ body: "4712" }, previous)).toEqual({ ...previous, body: "4712" });
});

test("the revision comes from the body or an If-Match header, and is required", () => {
  expect(expectedRevision({ body: { revision: 3 }, headers: {} })).toBe(3);
  expect(expectedRevision({ body: null, headers: { "if-match": '"4"' } })).toBe(4);
  expect(expectedRevision({ body: null, headers: { "if-match": 'W/"5"' } })).toBe(5);
  expect(() => expectedRevision({ body: {}, headers: {} })).toThrow({ status: 428, code: "REVISION_REQUIRED" });
  expect(() => expectedRevision({ body: { revision: 0 }, headers: {} })).toThrow({ code: "VALIDATION_FAILED" });
});

test("a new note starts at revision 1, its ETag says so, and it reads back the same", async () => {
  const note = await createNote({ body: "4711", tags: ["Access"] }, technician);
  expect(note).toMatchObject({ clientId: "c-2001", title: "Door code", tags: ["access"], author: "bob", revision: 1 });
  const read = await call("GET", `/notes/${note.id}`, technician);
  expect(read.status).toBe(200);
  expect(read.headers.etag).toBe('"1"');
  expect(read.body).toEqual(note);
});

test("a stale edit is answered 409 with the note as it is now; nothing is overwritten", async () => {
  const note = await createNote({ body: "first" });
  const alice = await call("PUT", `/notes/${note.id}`, { body: { revision: 1, body: "alice's text" } });
  expect(alice.status).toBe(200);
  expect(alice.body.revision).toBe(2);
  const bob = await call("PUT", `/notes/${note.id}`, { ...technician, headers: { "if-match": '"1"' }, body: { body: "bob's text" } });
  expect(bob.status).toBe(409);
  expect(bob.body.error).toMatchObject({ code: "REVISION_MISMATCH", details: { expected: 1, current: 2, note: { body: "alice's text", revision: 2 } } });
  expect((await call("GET", `/notes/${note.id}`)).body.body).toBe("alice's text");
  const blind = await call("PUT", `/notes/${note.id}`, { body: { body: "no revision" } });
  expect(blind.status).toBe(428);
});

test("the history lists the current revision first, then the earlier ones", async () => {
  const note = await createNote({ body: "v1" });
  await call("PUT", `/notes/${note.id}`, { body: { revision: 1, body: "v2" } });
  await call("PUT", `/notes/${note.id}`, { body: { revision: 2, body: "v3" } });
  const history = await call("GET", `/notes/${note.id}/history`, technician);
  expect(history.status).toBe(200);
  expect(history.body.revisions.map((r) => [r.revision, r.note.body])).toEqual([[3, "v3"], [2, "v2"], [1, "v1"]]);
});

test("search finds notes by client, author, pin and last change", async (ctx) => {
  await ctx.storage.namespace("notes").clear();
  const mine = await createNote({ clientId: "c-2002", title: "Backup window", pinned: true });
  const bobs = await createNote({ clientId: "c-2002", title: "Printer model", tags: ["Hardware"] }, technician);
  await createNote({ clientId: "c-2003", title: "Elsewhere" });
  const ids = async (query) => (await call("GET", "/notes", { query })).body.notes.map((n) => n.id).sort();
  expect(await ids({ client: "c-2002" })).toEqual([mine.id, bobs.id].sort());
  expect(await ids({ client: "c-2002", author: "bob" })).toEqual([bobs.id]);
  expect(await ids({ pinned: "true" })).toEqual([mine.id]);
  expect(await ids({ client: "c-2002", pinned: "false" })).toEqual([bobs.id]);
  expect(await ids({ tag: "HARDWARE" })).toEqual([bobs.id]);
  expect(await ids({ since: "2999-01-01" })).toEqual([]);
  const bad = await call("GET", "/notes", { query: { pinned: "maybe" } });
  expect(bad.status).toBe(400);
  expect(bad.body.error.details.field).toBe("pinned");
});

test("search pages with a cursor", async (ctx) => {
  await ctx.storage.namespace("notes").clear();
  for (const title of ["a", "b", "c"]) await createNote({ clientId: "c-paging", title });
  const first = await call("GET", "/notes", { query: { client: "c-paging", limit: 2 } });
  expect(first.body.notes).toHaveLength(2);
  expect(first.body.cursor).toBeTruthy();
  const second = await call("GET", "/notes", { query: { client: "c-paging", limit: 2, cursor: first.body.cursor } });
  expect(second.body.notes).toHaveLength(1);
  expect(second.body.cursor).toBeNull();
});

test("deleting needs the delete permission and the current revision", async () => {
  const note = await createNote({});
  expect((await call("DELETE", `/notes/${note.id}?revision=1`, technician)).status).toBe(403);
  expect((await call("DELETE", `/notes/${note.id}`)).status).toBe(428);
  await call("PUT", `/notes/${note.id}`, { body: { revision: 1, pinned: true } });
  const stale = await call("DELETE", `/notes/${note.id}?revision=1`);
  expect(stale.status).toBe(409);
  expect(stale.body.error.details.current).toBe(2);
  expect((await call("DELETE", `/notes/${note.id}?revision=2`)).status).toBe(204);
  expect((await call("GET", `/notes/${note.id}`)).status).toBe(404);
});

test("the namespace's schema refuses a malformed note whatever writes it", async (ctx) => {
  await expect(ctx.storage.namespace("notes").set("broken", { id: "broken", title: 5 })).rejects.toThrow({ code: "VALIDATION_FAILED" });
});

test("a user without a role of the extension sees nothing", async () => {
  expect((await call("GET", "/notes", { user: "guest", roles: ["client"] })).status).toBe(403);
});
