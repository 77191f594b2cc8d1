// Time arithmetic of the tracker — days, rounding, limits and durations in words — kept apart from storage and HTTP.
import { HttpError } from "@alga/sdk";

export type Rounding = "none" | "5 minutes" | "15 minutes";

/** The UTC day (`2025-03-05`) a moment falls on: totals are kept per user and UTC day. */
export function dayOf(iso: string): string {
  return iso.slice(0, 10);
}

/** Whether a query's `day` is a real calendar day written as `YYYY-MM-DD`. */
export function isDay(text: string): boolean {
  // `2025-13-01` is no date at all; `2025-02-30` is rolled into March by Date: both refused.
  const parsed = new Date(`${text}T00:00:00Z`);
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(text);
}

/**
 * Booked seconds of a stopped timer: whole seconds, rounded up to the configured step. With a
 * step, a timer that ran at all books at least one step (a 20-second call is 5 minutes).
 */
export function bookedSeconds(startedAt: string, stoppedAt: string, rounding: Rounding): number {
  const seconds = Math.max(0, Math.round((Date.parse(stoppedAt) - Date.parse(startedAt)) / 1000));
  const step = rounding === "15 minutes" ? 900 : rounding === "5 minutes" ? 300 : 1;
  return step === 1 ? seconds : Math.ceil(Math.max(seconds, 1) / step) * step;
}

/**
 * The lifetime of a running timer, in whole seconds, from the `maxTimerHours` setting. The
 * admin API checks only that it is a number, so the range is checked here, in words.
 */
export function timerTtlSeconds(maxTimerHours: unknown): number {
  if (typeof maxTimerHours !== "number" || !(maxTimerHours > 0) || maxTimerHours > 24) {
    throw new HttpError(500, "SETTINGS_INVALID", `the maxTimerHours setting must be above 0 and at most 24, not ${JSON.stringify(maxTimerHours)}; ask an admin to fix it`, {
      setting: "maxTimerHours",
    });
  }
  return Math.max(1, Math.round(maxTimerHours * 3600));
}

/** `1 h 05 min`, `12 min`, `40 s`: durations as the widget shows them. */
export function inWords(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}
