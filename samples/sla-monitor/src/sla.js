// SLA arithmetic: each open ticket's resolution target, how much of it has passed and its state, kept apart from the host API and HTTP.

/** Statuses that stop the SLA clock: the host app's closed and resolved tickets. */
export const STOPPED = new Set(["closed", "resolved", "cancelled"]);

const PRIORITIES = ["critical", "high", "medium", "low"];

/**
 * The resolution targets in hours, by priority, from the settings. A target that is not a
 * positive number would make every ticket breached or none; it is refused in words.
 */
export function targetsFrom(settings) {
  const targets = {};
  for (const priority of PRIORITIES) {
    const hours = settings[`${priority}Hours`];
    if (typeof hours !== "number" || !(hours > 0)) {
      throw new RangeError(`the ${priority}Hours setting must be a number of hours above 0, not ${JSON.stringify(hours)}`);
    }
    targets[priority] = hours;
  }
  const warn = settings.warnAtPercent;
  if (typeof warn !== "number" || !(warn > 0) || warn > 100) {
    throw new RangeError(`the warnAtPercent setting must be above 0 and at most 100, not ${JSON.stringify(warn)}`);
  }
  return { targets, warnAtPercent: warn };
}

/**
 * One ticket's SLA position at `now` (milliseconds): its target, age, the share of the target
 * used and `breached` / `at-risk` / `ok`. A ticket without a known priority is held to the
 * medium target, so an unlabelled ticket is still watched.
 */
export function assess(ticket, now, { targets, warnAtPercent }) {
  const priority = PRIORITIES.includes(String(ticket.priority).toLowerCase()) ? String(ticket.priority).toLowerCase() : "medium";
  const created = Date.parse(ticket.created_at);
  const targetHours = targets[priority];
  const ageHours = Number.isNaN(created) ? 0 : Math.max(0, (now - created) / 3_600_000);
  const usedPercent = Math.round((ageHours / targetHours) * 100);
  const state = usedPercent >= 100 ? "breached" : usedPercent >= warnAtPercent ? "at-risk" : "ok";
  return {
    id: ticket.id,
    number: ticket.ticket_number ?? ticket.id,
    title: ticket.title ?? "",
    priority,
    assignedTo: ticket.assigned_to ?? null,
    createdAt: ticket.created_at,
    dueAt: Number.isNaN(created) ? null : new Date(created + targetHours * 3_600_000).toISOString(),
    targetHours,
    ageHours: Math.round(ageHours * 10) / 10,
    usedPercent,
    state,
  };
}

/** Most urgent first: the largest share of the target used. */
export const byUrgency = (a, b) => b.usedPercent - a.usedPercent || a.id.localeCompare(b.id);

/** `3 h`, `2 d 4 h`: how far past or before its due time a ticket is, for the widget. */
export function hoursInWords(hours) {
  const whole = Math.round(Math.abs(hours));
  return whole >= 24 ? `${Math.floor(whole / 24)} d ${whole % 24} h` : `${whole} h`;
}
