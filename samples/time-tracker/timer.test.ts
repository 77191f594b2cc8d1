// Tests of the Time Tracker sample, run by `alga-ext test samples/time-tracker`: its time arithmetic,
// and its timers through the runtime (transactions, TTL expiry, roles, the widget's handler).
import { call, expect, setSettings, test } from "@alga/test";
import { myTime } from "./src/index.ts";
import { bookedSeconds, dayOf, inWords, isDay, timerTtlSeconds } from "./src/time.ts";

const technician = { user: "bob", roles: ["technician"] };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Booked {
  entry: { ticketId: string | null; seconds: number; startedAt: string };
  totals: { day: { seconds: number; entries: number }; ticket: { seconds: number; entries: number } | null };
}

test("booked time is rounded up to the configured step", () => {
  const start = "2025-03-05T09:00:00.000Z";
  expect(bookedSeconds(start, "2025-03-05T09:00:41.400Z", "none")).toBe(41);
  expect(bookedSeconds(start, "2025-03-05T09:00:41.400Z", "5 minutes")).toBe(300);
  expect(bookedSeconds(start, "2025-03-05T09:16:00.000Z", "15 minutes")).toBe(1800);
  expect(bookedSeconds(start, start, "5 minutes")).toBe(300);
  expect(bookedSeconds(start, "2025-03-05T08:59:00.000Z", "none")).toBe(0);
});

test("days, durations in words and the timer's lifetime", () => {
  expect(dayOf("2025-03-05T23:59:59.000Z")).toBe("2025-03-05");
  expect(isDay("2024-02-29")).toBe(true);
  expect(isDay("2025-02-29")).toBe(false);
  expect(isDay("5 March")).toBe(false);
  expect(isDay("2025-13-01")).toBe(false);
  expect([inWords(40), inWords(720), inWords(3900)]).toEqual(["40 s", "12 min", "1 h 05 min"]);
  expect(timerTtlSeconds(10)).toBe(36000);
  expect(timerTtlSeconds(0.0001)).toBe(1);
  expect(() => timerTtlSeconds(0)).toThrow({ status: 500, code: "SETTINGS_INVALID" });
  expect(() => timerTtlSeconds(25)).toThrow("at most 24");
});

test("a user runs one timer at a time; its expiry follows the setting", async () => {
  const started = await call("POST", "/timer/start", { ...technician, body: { ticketId: "t-1001", note: "printer" } });
  expect(started.status).toBe(201);
  expect(started.body).toMatchObject({ user: "bob", ticketId: "t-1001", note: "printer" });
  const lifetime = Date.parse(started.body.expiresAt) - Date.parse(started.body.startedAt);
  expect(Math.abs(lifetime - 10 * 3600 * 1000)).toBeLessThan(5000);
  const again = await call("POST", "/timer/start", { ...technician, body: { ticketId: "t-1002" } });
  expect(again.status).toBe(409);
  expect(again.body.error).toMatchObject({ code: "TIMER_RUNNING", details: { running: { ticketId: "t-1001" } } });
  const current = await call("GET", "/timer", technician);
  expect(current.body.running).toMatchObject({ ticketId: "t-1001", expiresAt: started.body.expiresAt });
});

test("stopping books the entry, the day's total and the ticket's total together, once", async () => {
  const stopped = await call("POST", "/timer/stop", technician);
  expect(stopped.status).toBe(200);
  const booked = stopped.body as Booked;
  expect(booked.entry.ticketId).toBe("t-1001");
  expect(booked.totals.day).toEqual({ seconds: booked.entry.seconds, entries: 1 });
  expect(booked.totals.ticket).toEqual({ seconds: booked.entry.seconds, entries: 1 });
  const twice = await call("POST", "/timer/stop", technician);
  expect(twice.status).toBe(404);
  expect(twice.body.error.code).toBe("NO_TIMER");
  const day = await call("GET", "/totals", { ...technician, query: { day: dayOf(booked.entry.startedAt) } });
  expect(day.body).toMatchObject({ user: "bob", entries: 1, items: [{ ticketId: "t-1001", note: "printer" }] });
});

test("totals add up over several timers, rounded as the settings say", async () => {
  await setSettings({ rounding: "5 minutes" });
  for (const ticketId of ["t-1003", "t-1003"]) {
    expect((await call("POST", "/timer/start", { body: { ticketId } })).status).toBe(201);
    expect((await call("POST", "/timer/stop")).status).toBe(200);
  }
  const total = await call("GET", "/tickets/t-1003/total");
  expect(total.body).toEqual({ ticketId: "t-1003", seconds: 600, entries: 2 });
  await setSettings({ rounding: "none" });
});

test("another user's day and a ticket's total need the report permission", async () => {
  expect((await call("GET", "/totals", { ...technician, query: { user: "tester" } })).status).toBe(403);
  expect((await call("GET", "/tickets/t-1001/total", technician)).status).toBe(403);
  const seen = await call("GET", "/totals", { query: { user: "bob" } });
  expect(seen.status).toBe(200);
  expect(seen.body.user).toBe("bob");
  expect((await call("GET", "/totals", { query: { day: "2025-13-01" } })).body.error.details.field).toBe("day");
});

test("the widget shows the running timer and today's time", async (ctx) => {
  await call("POST", "/timer/start", { body: { ticketId: "t-1004" } });
  const running = (await myTime({} as never, ctx)) as Response;
  const data = await running.json();
  expect(data.rows[0].name).toMatch(/^Running on t-1004 for \d+ s$/);
  expect(data.rows[1].name).toMatch(/^Booked today: .* in 2 entries$/);
  expect((await call("DELETE", "/timer")).status).toBe(204);
  const idle = await ((await myTime({} as never, ctx)) as Response).json();
  expect(idle.rows[0].name).toBe("No timer running");
});

test("a forgotten timer expires by its TTL and is never booked", async () => {
  await setSettings({ maxTimerHours: 0.0003 });
  expect((await call("POST", "/timer/start", { ...technician, body: { ticketId: "t-1005" } })).status).toBe(201);
  await sleep(2100);
  expect((await call("GET", "/timer", technician)).body.running).toBeNull();
  expect((await call("POST", "/timer/stop", technician)).status).toBe(404);
  expect((await call("GET", "/tickets/t-1005/total")).body.entries).toBe(0);
});

test("a setting out of range is answered in words", async () => {
  await setSettings({ maxTimerHours: 48 });
  const res = await call("POST", "/timer/start", { body: {} });
  expect(res.status).toBe(500);
  expect(res.body.error).toMatchObject({ code: "SETTINGS_INVALID", details: { setting: "maxTimerHours" } });
});
