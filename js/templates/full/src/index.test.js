// Tests of __NAME__, run by `alga-ext test`: checklists on the host API simulator's tickets, through the real runtime.
import { call, expect, setSettings, test } from "@alga/test";
import { openItems } from "./index.js";

const items = "/tickets/t-1001/items";

test("a ticket's checklist starts empty and names the ticket", async () => {
  const res = await call("GET", items);
  expect(res.status).toBe(200);
  expect(res.body.ticket.id).toBe("t-1001");
  expect(res.body.items).toEqual([]);
});

test("items are added, ticked once, and counted by the widget", async (ctx) => {
  const added = await call("POST", items, { body: { text: "Reproduce" } });
  expect(added.status).toBe(201);
  await call("POST", items, { body: { text: "Fix" } });
  expect((await openItems({}, ctx)).body.rows[0].name).toBe("2 open checklist items");
  const ticked = await call("POST", `${items}/${added.body.id}/done`);
  expect(ticked.body.done).toBe(true);
  await call("POST", `${items}/${added.body.id}/done`);
  expect((await openItems({}, ctx)).body.rows[0].name).toBe("1 open checklist item");
});

test("a ticket the host app does not know is a 404 in words", async () => {
  const res = await call("GET", "/tickets/t-9999/items");
  expect(res.status).toBe(404);
  expect(res.body.error.code).toBe("TICKET_NOT_FOUND");
});

test("a full checklist refuses more items", async () => {
  await setSettings({ maxItems: 2 });
  const res = await call("POST", items, { body: { text: "Tell the client" } });
  expect(res.status).toBe(409);
  expect(res.body.error.code).toBe("CHECKLIST_FULL");
});

test("a user who may only view cannot add items", async () => {
  const res = await call("POST", "/tickets/t-1002/items", { body: { text: "x" }, user: "gail", roles: ["guest"] });
  expect(res.status).toBe(403);
});
