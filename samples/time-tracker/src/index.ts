// Time Tracker: one running timer per user (a TTL ends a forgotten one), started and stopped in
// storage transactions that book entries and keep daily and per-ticket totals, and a dashboard widget.
import { HttpError, json } from "@alga/sdk";
import type { Ctx, HandlerRequest, HandlerResult, StorageTransaction } from "@alga/sdk";
import { bookedSeconds, dayOf, inWords, isDay, timerTtlSeconds } from "./time.ts";
import type { Rounding } from "./time.ts";

interface Settings {
  maxTimerHours: number;
  rounding: Rounding;
}

/** A running timer, stored under the user's id in namespace `running` with a TTL. */
interface Timer {
  user: string;
  ticketId: string | null;
  note: string;
  startedAt: string;
}

/** A stopped timer, booked in namespace `entries`. */
interface Entry extends Timer {
  id: string;
  stoppedAt: string;
  seconds: number;
}

/** A running sum in namespace `totals`: per user and day (`user/<id>/<day>`) or per ticket (`ticket/<id>`). */
interface Total {
  seconds: number;
  entries: number;
}

const TICKET_ID = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_NOTE = 500;

const settings = async (ctx: Ctx): Promise<Settings> => (await ctx.settings.get()) as unknown as Settings;
const userTotalKey = (user: string, day: string) => `user/${user}/${day}`;
const ticketTotalKey = (ticketId: string) => `ticket/${ticketId}`;

function noteOf(body: unknown): string {
  const note = (body as { note?: unknown } | null)?.note ?? "";
  if (typeof note !== "string" || note.length > MAX_NOTE) {
    throw new HttpError(400, "VALIDATION_FAILED", `note: text of at most ${MAX_NOTE} characters`, { field: "note" });
  }
  return note.trim();
}

/** Adds a booked entry to a running total inside the transaction, so no concurrent stop is lost. */
async function addTo(tx: StorageTransaction, key: string, seconds: number): Promise<Total> {
  const totals = tx.namespace("totals");
  const before = (await totals.get<Total>(key)) ?? { seconds: 0, entries: 0 };
  const after = { seconds: before.seconds + seconds, entries: before.entries + 1 };
  await totals.set(key, after);
  return after;
}

/** The caller's running timer with how long it has run, or `null`. */
async function running(ctx: Ctx): Promise<(Timer & { elapsedSeconds: number; expiresAt: string | null }) | null> {
  const entry = await ctx.storage.namespace("running").getEntry<Timer>(ctx.user.id);
  if (entry === null) return null;
  const elapsedSeconds = Math.max(0, Math.round((Date.now() - Date.parse(entry.value.startedAt)) / 1000));
  return { ...entry.value, elapsedSeconds, expiresAt: entry.expiresAt };
}

/** GET /timer: `{ running }`, the caller's timer or `null` (none started, stopped, or expired). */
export async function currentTimer(_request: HandlerRequest, ctx: Ctx): Promise<HandlerResult> {
  return json({ running: await running(ctx) });
}

/**
 * POST /timer/start {"ticketId"?, "note"?}: starts the caller's timer, `409 TIMER_RUNNING` when
 * one already runs. The check and the write are one transaction, so two clicks at once start
 * one timer. The timer expires after `maxTimerHours` (storage TTL): a timer forgotten over the
 * weekend is gone on Monday instead of booking 60 hours.
 */
export async function startTimer(request: HandlerRequest, ctx: Ctx): Promise<HandlerResult> {
  const body = request.body as { ticketId?: unknown } | null;
  const ticketId = body?.ticketId ?? null;
  if (ticketId !== null && (typeof ticketId !== "string" || !TICKET_ID.test(ticketId))) {
    throw new HttpError(400, "VALIDATION_FAILED", "ticketId: a ticket id such as t-1001, or leave it out", { field: "ticketId" });
  }
  const note = noteOf(request.body);
  const ttlSeconds = timerTtlSeconds((await settings(ctx)).maxTimerHours);
  const timer: Timer = { user: ctx.user.id, ticketId, note, startedAt: new Date().toISOString() };
  const started = await ctx.storage.transaction(async (tx) => {
    const slot = tx.namespace("running");
    const other = await slot.get<Timer>(ctx.user.id);
    if (other !== null) return { other };
    const { expiresAt } = await slot.set(ctx.user.id, timer, { ttlSeconds });
    return { expiresAt };
  });
  if (started.other) {
    throw new HttpError(409, "TIMER_RUNNING", `a timer has been running since ${started.other.startedAt}; stop it first`, { running: started.other });
  }
  ctx.log.info("timer started", { ticketId });
  return json({ ...timer, expiresAt: started.expiresAt }, { status: 201 });
}

/**
 * POST /timer/stop {"note"?}: stops the caller's timer and books it — the entry, the user's
 * total of the day and the ticket's total — in one transaction: either all of it is written
 * or none, and a double click books once (the second finds no timer: `404 NO_TIMER`).
 */
export async function stopTimer(request: HandlerRequest, ctx: Ctx): Promise<HandlerResult> {
  const note = noteOf(request.body);
  const { rounding } = await settings(ctx);
  const booked = await ctx.storage.transaction(async (tx) => {
    const timer = await tx.namespace("running").get<Timer>(ctx.user.id);
    if (timer === null) return null;
    const stoppedAt = new Date().toISOString();
    const entry: Entry = { ...timer, note: note || timer.note, id: crypto.randomUUID(), stoppedAt, seconds: bookedSeconds(timer.startedAt, stoppedAt, rounding) };
    await tx.namespace("running").delete(ctx.user.id);
    // Keys sort by user, then start time: a user's entries list in order.
    await tx.namespace("entries").set(`${ctx.user.id}/${timer.startedAt}/${entry.id}`, entry);
    const day = await addTo(tx, userTotalKey(ctx.user.id, dayOf(timer.startedAt)), entry.seconds);
    const ticket = entry.ticketId === null ? null : await addTo(tx, ticketTotalKey(entry.ticketId), entry.seconds);
    return { entry, totals: { day, ticket } };
  });
  if (booked === null) {
    throw new HttpError(404, "NO_TIMER", "no timer is running: it was stopped already, never started, or ran past the maxTimerHours setting and expired");
  }
  ctx.log.info("timer stopped", { seconds: booked.entry.seconds, ticketId: booked.entry.ticketId });
  return json(booked);
}

/** DELETE /timer: drops the caller's running timer without booking it. */
export async function discardTimer(_request: HandlerRequest, ctx: Ctx): Promise<HandlerResult> {
  if (!(await ctx.storage.namespace("running").delete(ctx.user.id))) {
    throw new HttpError(404, "NO_TIMER", "no timer is running");
  }
  return null;
}

/**
 * GET /totals?day=YYYY-MM-DD&user=ID: a user's booked time on a UTC day (default: today, the
 * caller). Another user's needs the `report` permission.
 */
export async function dayTotals(request: HandlerRequest, ctx: Ctx): Promise<HandlerResult> {
  const day = request.query.day ?? dayOf(new Date().toISOString());
  if (!isDay(day)) throw new HttpError(400, "VALIDATION_FAILED", "day: a date written as YYYY-MM-DD", { field: "day" });
  const user = request.query.user ?? ctx.user.id;
  if (user !== ctx.user.id && !ctx.permissions.has("report")) {
    throw new HttpError(403, "FORBIDDEN", "seeing another user's time needs the report permission", { required: "report" });
  }
  const total = (await ctx.storage.namespace("totals").get<Total>(userTotalKey(user, day))) ?? { seconds: 0, entries: 0 };
  const page = await ctx.storage.namespace("entries").list<Entry>({ prefix: `${user}/${day}`, limit: 100 });
  return json({ user, day, ...total, items: page.items.map((item) => item.value) });
}

/** GET /tickets/:ticketId/total: the time booked on a ticket by everyone. */
export async function ticketTotal(request: HandlerRequest, ctx: Ctx): Promise<HandlerResult> {
  const { ticketId } = request.params;
  const total = (await ctx.storage.namespace("totals").get<Total>(ticketTotalKey(ticketId))) ?? { seconds: 0, entries: 0 };
  return json({ ticketId, ...total });
}

/** The "My time today" widget: the running timer and today's booked time, as rows the host lists. */
export async function myTime(_request: HandlerRequest, ctx: Ctx): Promise<HandlerResult> {
  const timer = await running(ctx);
  const today = (await ctx.storage.namespace("totals").get<Total>(userTotalKey(ctx.user.id, dayOf(new Date().toISOString())))) ?? { seconds: 0, entries: 0 };
  const rows = [
    { name: timer ? `Running${timer.ticketId ? ` on ${timer.ticketId}` : ""} for ${inWords(timer.elapsedSeconds)}` : "No timer running" },
    { name: `Booked today: ${inWords(today.seconds)} in ${today.entries} ${today.entries === 1 ? "entry" : "entries"}` },
  ];
  return json({ rows, running: timer, today });
}
