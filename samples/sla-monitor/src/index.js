// SLA Monitor: open tickets from the host app (ctx.api, tickets:read) weighed against resolution
// targets from the settings; a dashboard widget of the riskiest, and alerts sent to a webhook
// with a secret token (fetch to hooks.example.com), each ticket at most once per realertHours.
import { HttpError, json } from "@alga/sdk";
import { STOPPED, assess, byUrgency, hoursInWords, targetsFrom } from "./sla.js";

const PAGE = 100;
const MAX_TICKETS = 1000;

/** The SLA settings, or 500 SETTINGS_INVALID naming the setting an admin must fix. */
async function rules(ctx) {
  try {
    return targetsFrom(await ctx.settings.get());
  } catch (error) {
    throw new HttpError(500, "SETTINGS_INVALID", error.message);
  }
}

/** The moment to judge at: `?at=` (an ISO time, to ask "what was at risk at 9:00?") or now. */
function momentOf(request) {
  const at = request.query?.at;
  if (at === undefined) return Date.now();
  const parsed = Date.parse(at);
  if (Number.isNaN(parsed)) throw new HttpError(400, "VALIDATION_FAILED", "at: a time such as 2025-03-05T09:00:00Z", { field: "at" });
  return parsed;
}

/**
 * Every ticket whose SLA clock runs, page by page through the host's API as the calling user
 * (so a user sees only tickets the host lets them see). A host failure is answered 502 with
 * the host's status, not as the extension's own crash.
 */
async function openTickets(ctx) {
  const tickets = [];
  for (let offset = 0; offset < MAX_TICKETS; offset += PAGE) {
    let page;
    try {
      page = await ctx.api.get("/api/v1/tickets", { query: { limit: String(PAGE), offset: String(offset) } });
    } catch (error) {
      if (error.name !== "ApiError") throw error;
      throw new HttpError(502, "HOST_API_FAILED", `the host app's tickets could not be read: ${error.message}`, { code: error.code, status: error.status ?? null });
    }
    const rows = Array.isArray(page) ? page : (page?.data ?? []);
    tickets.push(...rows.filter((ticket) => !STOPPED.has(String(ticket.status).toLowerCase())));
    const total = page?.pagination?.total;
    if (rows.length < PAGE || (typeof total === "number" && offset + PAGE >= total)) break;
  }
  return tickets;
}

async function assessAll(request, ctx) {
  const now = momentOf(request);
  const settings = await rules(ctx);
  // A ticket created after the moment asked about did not exist then.
  const existing = (await openTickets(ctx)).filter((ticket) => !(Date.parse(ticket.created_at) > now));
  const tickets = existing.map((ticket) => assess(ticket, now, settings)).sort(byUrgency);
  const counts = { breached: 0, "at-risk": 0, ok: 0 };
  for (const ticket of tickets) counts[ticket.state] += 1;
  return { at: new Date(now).toISOString(), counts, tickets };
}

/** GET /risk?at=&state=: the open tickets, most urgent first, with their SLA state; `state` keeps one kind. */
export async function risk(request, ctx) {
  const report = await assessAll(request, ctx);
  const state = request.query.state;
  if (state !== undefined && !["breached", "at-risk", "ok"].includes(state)) {
    throw new HttpError(400, "VALIDATION_FAILED", "state: one of breached, at-risk, ok", { field: "state" });
  }
  return json(state === undefined ? report : { ...report, tickets: report.tickets.filter((ticket) => ticket.state === state) });
}

/** The dashboard widget: the five most urgent tickets that are breached or at risk, as rows the host lists. */
export async function slaRisk(request, ctx) {
  const report = await assessAll(request, ctx);
  const urgent = report.tickets.filter((ticket) => ticket.state !== "ok").slice(0, 5);
  const now = Date.parse(report.at);
  const rows = urgent.map((ticket) => {
    const due = (now - Date.parse(ticket.dueAt)) / 3_600_000;
    const when = ticket.state === "breached" ? `breached ${hoursInWords(due)} ago` : `due in ${hoursInWords(due)}`;
    return { id: ticket.id, name: `${ticket.number} ${ticket.title} (${ticket.priority}): ${when}`, state: ticket.state };
  });
  if (rows.length === 0) rows.push({ id: null, name: "Every open ticket is within its SLA", state: "ok" });
  return json({ rows, counts: report.counts, at: report.at });
}

/** The webhook's URL and token from the settings, or 409 saying what an admin has to set. */
async function webhook(ctx) {
  const { webhookUrl, webhookToken, realertHours } = await ctx.settings.get();
  if (!webhookToken) {
    throw new HttpError(409, "WEBHOOK_NOT_CONFIGURED", "set the webhookToken setting (an admin, in the extension's settings) before sending alerts", { setting: "webhookToken" });
  }
  let url;
  try {
    url = new URL(webhookUrl);
  } catch {
    throw new HttpError(409, "WEBHOOK_NOT_CONFIGURED", `the webhookUrl setting is not a URL: ${JSON.stringify(webhookUrl)}`, { setting: "webhookUrl" });
  }
  if (typeof realertHours !== "number" || !(realertHours > 0)) {
    throw new HttpError(500, "SETTINGS_INVALID", `the realertHours setting must be a number of hours above 0, not ${JSON.stringify(realertHours)}`);
  }
  return { url, token: webhookToken, realertSeconds: Math.max(1, Math.round(realertHours * 3600)) };
}

/**
 * POST /alerts (body optional: {"at"}): sends the breached and at-risk tickets not alerted in
 * the last `realertHours` to the webhook, as `Authorization: Bearer <webhookToken>` (a secret
 * setting: stored sealed, read here in clear). Each alerted ticket is remembered with a TTL
 * of `realertHours`, so it is alerted again only after that. Answers what was sent and skipped.
 */
export async function sendAlerts(request, ctx) {
  const hook = await webhook(ctx);
  const at = request.body?.at;
  const report = await assessAll({ query: at === undefined ? {} : { at } }, ctx);
  const due = report.tickets.filter((ticket) => ticket.state !== "ok");
  const alerted = ctx.storage.namespace("alerted");
  const seen = await alerted.getBatch(due.map((ticket) => ticket.id).slice(0, 100));
  const fresh = due.filter((ticket) => !seen.has(ticket.id)).slice(0, 100);
  const skipped = due.filter((ticket) => seen.has(ticket.id)).map((ticket) => ticket.id);
  if (fresh.length === 0) return json({ sent: 0, ticketIds: [], skipped });

  let answer;
  try {
    answer = await fetch(hook.url, {
      method: "POST",
      headers: { authorization: `Bearer ${hook.token}`, "content-type": "application/json" },
      body: JSON.stringify({ source: ctx.extension.key, tenant: ctx.tenant, at: report.at, tickets: fresh }),
    });
  } catch (error) {
    // A FetchError says why in its code: HOST_NOT_ALLOWED when the URL is not on a granted host.
    throw new HttpError(502, "WEBHOOK_FAILED", `the webhook could not be reached: ${error.message}`, { code: error.code ?? null });
  }
  if (!answer.ok) {
    throw new HttpError(502, "WEBHOOK_REFUSED", `the webhook answered ${answer.status}`, { status: answer.status, body: (await answer.text()).slice(0, 500) });
  }
  const when = new Date().toISOString();
  await alerted.setBatch(fresh.map((ticket) => [ticket.id, { at: when, state: ticket.state }]), { ttlSeconds: hook.realertSeconds });
  ctx.log.info("SLA alert sent", { tickets: fresh.length });
  return json({ sent: fresh.length, ticketIds: fresh.map((ticket) => ticket.id), skipped, webhookStatus: answer.status });
}
