// Tests of __NAME__, run by `alga-ext test`: its endpoints through the real runtime (routing, permissions, storage).
import { call, expect, setSettings, test } from "@alga/test";

test("a note added by a user is listed, newest first", async () => {
  const first = await call("POST", "/notes", { body: { text: "Call the client back" } });
  expect(first.status).toBe(201);
  expect(first.body).toMatchObject({ text: "Call the client back" });
  await call("POST", "/notes", { body: { text: "Order toner" } });
  const listed = await call("GET", "/notes");
  expect(listed.status).toBe(200);
  expect(listed.body.notes.map((n) => n.text)).toEqual(["Order toner", "Call the client back"]);
});

test("an empty note is refused with the field named", async () => {
  const res = await call("POST", "/notes", { body: { text: "  " } });
  expect(res.status).toBe(400);
  expect(res.body.error.details).toEqual({ field: "text" });
});

test("the maxNotes setting caps what is kept", async () => {
  await setSettings({ maxNotes: 2 });
  const res = await call("POST", "/notes", { body: { text: "one too many" } });
  expect(res.status).toBe(409);
});

test("a user whose roles lack the permission is refused", async () => {
  const res = await call("GET", "/notes", { user: "gail", roles: ["guest"] });
  expect(res.status).toBe(403);
});
