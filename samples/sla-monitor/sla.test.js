// Tests of the SLA Monitor sample, run by `alga-ext test samples/sla-monitor`: the SLA arithmetic, and
// its endpoints and widget over the host API simulator's tickets (t-1001 … t-1005), settings and a secret.
import { call, expect, setSettings, test } from "@alga/test";
import { slaRisk } from "./src/index.js";
import { assess, hoursInWords, targetsFrom } from "./src/sla.js";

// The simulator's tickets were opened on 3–5 March 2025; at this moment t-1004 (critical,
// opened 02:11) has used 83 % of its 4 hours and the three older open ones have breached.
const AT = "2025-03-05T05:30:00Z";
const DEFAULTS = { criticalHours: 4, highHours: 8, mediumHours: 24, lowHours: 72, warnAtPercent: 75 };

test("a ticket's state follows the share of its target that has passed", () => {
  const rules = targetsFrom(DEFAULTS);
  const ticket = { id: "t-1", priority: "High", created_at: "2025-03-05T00:00:00Z" };
  const at = (hours) => Date.parse("2025-03-05T00:00:00Z") + hours * 3_600_000;
  expect(assess(ticket, at(2), rules)).toMatchObject({ priority: "high", targetHours: 8, usedPercent: 25, state: "ok", dueAt: "2025-03-05T08:00:00.000Z" });
  expect(assess(ticket, at(6), rules).state).toBe("at-risk");
  expect(assess(ticket, at(8), rules).state).toBe("breached");
  expect(assess({ ...ticket, priority: "someday" }, at(12), rules)).toMatchObject({ priority: "medium", usedPercent: 50 });
  expect(hoursInWords(-35)).toBe("1 d 11 h");
});

test("settings that make no sense are refused in words", () => {
  expect(() => targetsFrom({ ...DEFAULTS, highHours: 0 })).toThrow("highHours setting must be a number of hours above 0");
  expect(() => targetsFrom({ ...DEFAULTS, warnAtPercent: 150 })).toThrow("warnAtPercent");
});

test("the risk report reads the open tickets from the host, most urgent first", async () => {
  const res = await call("GET", "/risk", { query: { at: AT }, user: "bob", roles: ["technician"] });
  expect(res.status).toBe(200);
  expect(res.body.counts).toEqual({ breached: 3, "at-risk": 1, ok: 0 });
  // t-1005 is closed: its clock stopped.
  expect(res.body.tickets.map((t) => [t.id, t.state, t.usedPercent])).toEqual([
    ["t-1002", "breached", 538],
    ["t-1003", "breached", 205],
    ["t-1001", "breached", 189],
    ["t-1004", "at-risk", 83],
  ]);
  const atRisk = await call("GET", "/risk", { query: { at: AT, state: "at-risk" } });
  expect(atRisk.body.tickets.map((t) => t.id)).toEqual(["t-1004"]);
});

test("tickets opened after the moment asked about are left out", async () => {
  const res = await call("GET", "/risk", { query: { at: "2025-03-04T00:00:00Z" } });
  expect(res.body.tickets.map((t) => t.id).sort()).toEqual(["t-1001", "t-1002"]);
});

test("the targets come from the settings", async () => {
  await setSettings({ criticalHours: 8 });
  const res = await call("GET", "/risk", { query: { at: AT, state: "ok" } });
  expect(res.body.tickets).toMatchObject([{ id: "t-1004", targetHours: 8, usedPercent: 41 }]);
  await setSettings({ criticalHours: 4 });
});

test("the monitor reads tickets and can change none of them", async (ctx) => {
  // Its only host capability is tickets:read; the runtime refuses a write before any traffic.
  await expect(ctx.api.patch("/api/v1/tickets/t-1003", { status: "closed" })).rejects.toThrow(/tickets:write/);
  expect(await ctx.api.get("/api/v1/tickets/t-1003")).toMatchObject({ status: "waiting" });
});

test("the widget lists the breached and at-risk tickets in words", async (ctx) => {
  const answer = await slaRisk({ query: { at: AT } }, ctx);
  const data = await answer.json();
  expect(data.counts).toEqual({ breached: 3, "at-risk": 1, ok: 0 });
  expect(data.rows[0].name).toBe("TIC-1002 New starter needs a laptop and a mailbox (high): breached 1 d 11 h ago");
  expect(data.rows[3]).toMatchObject({ id: "t-1004", state: "at-risk" });
  expect(data.rows[3].name).toMatch(/due in 1 h$/);
});

test("bad input is refused, naming the field", async () => {
  const when = await call("GET", "/risk", { query: { at: "yesterday" } });
  expect(when.status).toBe(400);
  expect(when.body.error.details.field).toBe("at");
  expect((await call("GET", "/risk", { query: { state: "late" } })).body.error.details.field).toBe("state");
});

test("alerts need the alert permission and a webhook token", async () => {
  expect((await call("POST", "/alerts", { user: "bob", roles: ["technician"] })).status).toBe(403);
  const res = await call("POST", "/alerts", { body: { at: AT } });
  expect(res.status).toBe(409);
  expect(res.body.error).toMatchObject({ code: "WEBHOOK_NOT_CONFIGURED", details: { setting: "webhookToken" } });
});

test("the token is a secret setting: stored, read by the handler, and a webhook off the granted host is refused", async () => {
  const saved = await setSettings({ webhookToken: "tok-123", webhookUrl: "https://hooks.elsewhere.example/sla" });
  expect(saved.webhookToken).toBe("********");
  const res = await call("POST", "/alerts", { body: { at: AT } });
  // fetch() reaches only fetch:hooks.example.com, so nothing left the runtime.
  expect(res.status).toBe(502);
  expect(res.body.error).toMatchObject({ code: "WEBHOOK_FAILED", details: { code: "HOST_NOT_ALLOWED" } });
});
