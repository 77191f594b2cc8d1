// Tests of the Billing Export sample, run by `alga-ext test samples/billing-export`: the billing
// arithmetic, and its endpoints over the host API simulator's time entries with the roles of the manifest.
import { call, expect, setSettings, test } from "@alga/test";
import { billable, centsFor, linesByClient, period } from "./src/billing.js";

const finance = { user: "fiona", roles: ["finance"] };
const technician = { user: "bob", roles: ["technician"] };
const MARCH = { from: "2025-03-01", to: "2025-03-31" };

test("a period is two real days, in order, at most a year apart", () => {
  expect(period("2025-03-01", "2025-03-31")).toMatchObject({ from: "2025-03-01", to: "2025-03-31", startMs: Date.parse("2025-03-01T00:00:00Z"), endMs: Date.parse("2025-04-01T00:00:00Z") });
  expect(() => period("2025-02-30", "2025-03-01")).toThrow({ status: 400, details: { field: "from" } });
  expect(() => period("2025-03-01", "2025-13-01")).toThrow({ details: { field: "to" } });
  expect(() => period("2025-03-02", "2025-03-01")).toThrow("ends before it starts");
  expect(() => period("2024-01-01", "2025-03-01")).toThrow("at most 366 days");
  expect(() => period(undefined, "2025-03-01")).toThrow({ details: { field: "from" } });
});

test("only approved entries with billable minutes that start in the period bill", () => {
  const span = period("2025-03-01", "2025-03-31");
  const entry = { approval_status: "approved", billable_duration: 30, start_time: "2025-03-31T23:59:00Z" };
  expect(billable(entry, span)).toBe(true);
  expect(billable({ ...entry, start_time: "2025-04-01T00:00:00Z" }, span)).toBe(false);
  expect(billable({ ...entry, approval_status: "submitted" }, span)).toBe(false);
  expect(billable({ ...entry, billable_duration: 0 }, span)).toBe(false);
});

test("lines sum minutes and amounts per client, in client-name order", () => {
  const entries = [
    { id: "a", billable_duration: 45, client: { id: "c-2", name: "Zeta" } },
    { id: "b", billable_duration: 30, client: { id: "c-1", name: "Acme" } },
    { id: "c", billable_duration: 15, client: { id: "c-2", name: "Zeta" } },
  ];
  expect(linesByClient(entries, (e) => e.client, 100)).toEqual([
    { clientId: "c-1", client: "Acme", minutes: 30, entryIds: ["b"], hours: 0.5, amountCents: 5000 },
    { clientId: "c-2", client: "Zeta", minutes: 60, entryIds: ["a", "c"], hours: 1, amountCents: 10000 },
  ]);
  expect(centsFor(7, 99.99)).toBe(1167);
});

test("the preview of March has the simulator's one approved billable entry, by client", async () => {
  const res = await call("GET", "/preview", { ...finance, query: MARCH });
  expect(res.status).toBe(200);
  // te-6001: 45 minutes on ticket t-1001 of Northwind Traders; te-6004 is approved but not billable.
  expect(res.body).toEqual({
    from: "2025-03-01", to: "2025-03-31", currency: "USD", hourlyRate: 120, alreadyExported: 0,
    lines: [{ clientId: "c-2001", client: "Northwind Traders", minutes: 45, entryIds: ["te-6001"], hours: 0.75, amountCents: 9000 }],
    totals: { minutes: 45, amountCents: 9000 },
  });
  expect((await call("GET", "/preview", { ...finance, query: { from: "2025-04-01", to: "2025-04-30" } })).body.lines).toEqual([]);
});

test("the rate and currency come from the settings", async () => {
  await setSettings({ hourlyRate: 80, currency: "EUR" });
  const res = await call("GET", "/preview", { query: MARCH });
  expect(res.body).toMatchObject({ currency: "EUR", totals: { amountCents: 6000 } });
  await setSettings({ hourlyRate: 120, currency: "USD" });
});

test("the roles of the manifest: finance views, admins export, technicians see nothing", async () => {
  expect((await call("GET", "/preview", { ...technician, query: MARCH })).status).toBe(403);
  expect((await call("GET", "/access", finance)).body).toMatchObject({ user: "fiona", canExport: false, configured: false });
  expect((await call("GET", "/access")).body).toMatchObject({ canExport: true });
  const refused = await call("POST", "/exports", { ...finance, body: MARCH });
  expect(refused.status).toBe(403);
  expect(refused.body.error.code).toBe("FORBIDDEN");
});

test("an export needs the billing system's API key", async () => {
  const res = await call("POST", "/exports", { body: MARCH });
  expect(res.status).toBe(409);
  expect(res.body.error).toMatchObject({ code: "BILLING_NOT_CONFIGURED", details: { setting: "apiKey" } });
});

test("a billing URL off the granted host is refused by the runtime; nothing is marked exported", async (ctx) => {
  const saved = await setSettings({ apiKey: "key-123", billingUrl: "https://billing.elsewhere.example" });
  expect(saved.apiKey).toBe("********");
  for (let attempt = 0; attempt < 2; attempt++) {
    // The second attempt gets the same answer: the failed export released its lease.
    const res = await call("POST", "/exports", { body: MARCH });
    expect(res.status).toBe(502);
    expect(res.body.error).toMatchObject({ code: "BILLING_UNREACHABLE", details: { code: "HOST_NOT_ALLOWED" } });
  }
  expect(await ctx.storage.namespace("exported").size()).toBe(0);
  expect((await call("GET", "/exports")).body).toEqual({ exports: [] });
});

test("a running export holds a lease that refuses a second one", async (ctx) => {
  await ctx.storage.namespace("locks").set("export", { by: "someone" }, { ttlSeconds: 60 });
  const res = await call("POST", "/exports", { body: MARCH });
  expect(res.status).toBe(409);
  expect(res.body.error.code).toBe("EXPORT_RUNNING");
  await ctx.storage.namespace("locks").delete("export");
});

test("entries exported before are left out of the preview and of the next export", async (ctx) => {
  await ctx.storage.namespace("exported").set("te-6001", { batchId: "earlier" });
  const preview = await call("GET", "/preview", { query: MARCH });
  expect(preview.body).toMatchObject({ lines: [], alreadyExported: 1, totals: { minutes: 0, amountCents: 0 } });
  const res = await call("POST", "/exports", { body: MARCH });
  expect(res.status).toBe(409);
  expect(res.body.error.code).toBe("NOTHING_TO_EXPORT");
});
