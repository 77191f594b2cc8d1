// Tests of the Ticket Tags sample, run by `alga-ext test samples/ticket-tags`: its endpoints
// through the runtime (routing, roles, storage) and a ticket read from the host API simulator.
import { call, expect, setSettings, test } from "@alga/test";
import { colorFor, MAX_NAME } from "./src/tags.js";

// The manifest's roles: admins manage tags, technicians only see them.
const technician = { user: "bob", roles: ["technician"] };

async function createTag(name) {
  const res = await call("POST", "/tags", { body: { name } });
  expect(res.status).toBe(201);
  return res.body;
}

test("there are no tags before one is created", async () => {
  const res = await call("GET", "/tags");
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ tags: [] });
});

test("an admin creates a tag: its name is trimmed and its color comes from the palette", async () => {
  const tag = await createTag("  Urgent ");
  expect(tag).toMatchObject({ name: "Urgent", color: colorFor("Urgent", "pastel"), uses: 0 });
  expect(tag.id).toMatch(/^[0-9a-f-]{36}$/);
  const listed = await call("GET", "/tags");
  expect(listed.body.tags).toEqual([tag]);
});

test("the palette setting changes the colors of new tags", async () => {
  await setSettings({ palette: "vivid" });
  const tag = await createTag("Billing");
  expect(tag.color).toBe(colorFor("Billing", "vivid"));
});

test("a name that is empty or too long is refused and nothing is stored", async () => {
  // Storage lasts for the whole file: earlier tests' tags are still there.
  const before = (await call("GET", "/tags")).body.tags.length;
  for (const name of ["", "   ", "x".repeat(MAX_NAME + 1)]) {
    const res = await call("POST", "/tags", { body: { name } });
    expect(res.status).toBeGreaterThan(399);
  }
  expect((await call("GET", "/tags")).body.tags).toHaveLength(before);
});

test("a technician sees tags but may not create or delete them", async () => {
  const tag = await createTag("Network");
  const seen = await call("GET", "/tags", technician);
  expect(seen.status).toBe(200);
  expect(seen.body.tags.map((t) => t.name)).toContain("Network");
  expect((await call("POST", "/tags", { ...technician, body: { name: "Mine" } })).status).toBe(403);
  expect((await call("DELETE", `/tags/${tag.id}`, technician)).status).toBe(403);
});

test("a user without a role of the extension sees nothing", async () => {
  const res = await call("GET", "/tags", { user: "guest", roles: ["client"] });
  expect(res.status).toBe(403);
});

test("deleting a tag removes it once", async () => {
  const tag = await createTag("Hardware");
  expect((await call("DELETE", `/tags/${tag.id}`)).status).toBe(204);
  const again = await call("DELETE", `/tags/${tag.id}`);
  expect(again.status).toBe(404);
  expect(again.body).toEqual({ error: "no such tag" });
  expect((await call("GET", "/tags")).body.tags.map((t) => t.id)).not.toContain(tag.id);
});

test("a ticket's tags: the ticket is read from the host API, its tag ids from storage", async (ctx) => {
  const printer = await createTag("Printer");
  // The test's ctx acts as the extension: the same storage its handlers use.
  await ctx.storage.set("ticket:t-1001", [printer.id]);
  const res = await call("GET", "/tickets/t-1001/tags");
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ ticket: "t-1001", tags: [printer] });
  const ticket = await ctx.api.get("/api/v1/tickets/t-1001");
  expect(ticket.title).toContain("Printer");
});

test("a ticket without tags has an empty list; one the host does not know fails", async () => {
  const untagged = await call("GET", "/tickets/t-1002/tags");
  expect(untagged.body).toEqual({ ticket: "t-1002", tags: [] });
  const unknown = await call("GET", "/tickets/t-9999/tags");
  expect(unknown.status).toBeGreaterThan(399);
});

test("the extension may read tickets but not change them on the host", async (ctx) => {
  await expect(ctx.api.patch("/api/v1/tickets/t-1001", { status: "closed" })).rejects.toThrow(/tickets:write/);
  expect((await ctx.api.get("/api/v1/tickets/t-1001")).status).toBe("open");
});

test("a technician attaches a tag to a ticket once, and takes it off again", async () => {
  const network = await createTag("Network");
  const attached = await call("PUT", `/tickets/t-1003/tags/${network.id}`, technician);
  expect(attached.status).toBe(201);
  expect(attached.body).toEqual({ ticket: "t-1003", tags: [network.id] });
  // Again: nothing changes, and the tag's use count went up once.
  expect((await call("PUT", `/tickets/t-1003/tags/${network.id}`, technician)).status).toBe(200);
  const listed = await call("GET", "/tickets/t-1003/tags", technician);
  expect(listed.body.tags).toEqual([{ ...network, uses: 1 }]);
  expect((await call("DELETE", `/tickets/t-1003/tags/${network.id}`, technician)).status).toBe(204);
  expect((await call("GET", "/tickets/t-1003/tags", technician)).body.tags).toEqual([]);
  expect((await call("DELETE", `/tickets/t-1003/tags/${network.id}`, technician)).status).toBe(404);
});

test("attaching is refused for an unknown tag, past the per-ticket limit, and for a ticket the host does not know", async () => {
  expect((await call("PUT", "/tickets/t-1004/tags/no-such-tag")).status).toBe(404);
  await setSettings({ maxTagsPerTicket: 1 });
  const first = await createTag("First");
  const second = await createTag("Second");
  expect((await call("PUT", `/tickets/t-1004/tags/${first.id}`)).status).toBe(201);
  const refused = await call("PUT", `/tickets/t-1004/tags/${second.id}`);
  expect(refused.status).toBe(409);
  expect(refused.body.error.code).toBe("TOO_MANY_TAGS");
  expect((await call("PUT", `/tickets/t-9999/tags/${first.id}`)).status).toBeGreaterThan(399);
});
