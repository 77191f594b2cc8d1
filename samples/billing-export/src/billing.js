// Billing arithmetic: the period a caller asks for, which time entries are billable in it, and the lines per client — no storage or HTTP here.
import { HttpError } from "@alga/sdk";

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MAX_DAYS = 366;

/** A `YYYY-MM-DD` day that exists, or 400 naming the field. */
function day(value, field) {
  // `2025-13-01` is no date at all and `2025-02-30` is rolled into March by Date: both refused.
  const parsed = typeof value === "string" ? new Date(`${value}T00:00:00Z`) : new Date(NaN);
  if (!DAY.test(String(value)) || Number.isNaN(parsed.getTime()) || !parsed.toISOString().startsWith(value)) {
    throw new HttpError(400, "VALIDATION_FAILED", `${field}: a day written as YYYY-MM-DD, such as 2025-03-01`, { field });
  }
  return value;
}

/** The period `from`–`to` (both days included, UTC), at most a year long. */
export function period(from, to) {
  const start = day(from, "from");
  const end = day(to, "to");
  const days = (Date.parse(`${end}T00:00:00Z`) - Date.parse(`${start}T00:00:00Z`)) / 86_400_000;
  if (days < 0) throw new HttpError(400, "VALIDATION_FAILED", "to: the period ends before it starts", { field: "to" });
  if (days >= MAX_DAYS) throw new HttpError(400, "VALIDATION_FAILED", `to: a period of at most ${MAX_DAYS} days`, { field: "to" });
  return { from: start, to: end, startMs: Date.parse(`${start}T00:00:00Z`), endMs: Date.parse(`${end}T00:00:00Z`) + 86_400_000 };
}

/** Whether a time entry bills in the period: approved, with billable minutes, started inside it. */
export function billable(entry, { startMs, endMs }) {
  const started = Date.parse(entry.start_time);
  return entry.approval_status === "approved" && Number(entry.billable_duration) > 0 && started >= startMs && started < endMs;
}

/** Cents of `minutes` at `hourlyRate`, rounded to the cent (amounts are sent as whole cents). */
export const centsFor = (minutes, hourlyRate) => Math.round((minutes * hourlyRate * 100) / 60);

/**
 * Lines per client: minutes, hours and amount of the entries, in client-name order.
 * `clientOf(entry)` answers `{ id, name }` of the client an entry's work item belongs to.
 */
export function linesByClient(entries, clientOf, hourlyRate) {
  const lines = new Map();
  for (const entry of entries) {
    const client = clientOf(entry);
    const line = lines.get(client.id) ?? { clientId: client.id, client: client.name, minutes: 0, entryIds: [] };
    line.minutes += Number(entry.billable_duration);
    line.entryIds.push(entry.id);
    lines.set(client.id, line);
  }
  return [...lines.values()]
    .map((line) => ({ ...line, hours: Math.round((line.minutes / 60) * 100) / 100, amountCents: centsFor(line.minutes, hourlyRate) }))
    .sort((a, b) => a.client.localeCompare(b.client));
}
