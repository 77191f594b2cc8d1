// Billing Export: the endpoints of the finance page — a preview of a period's billable time by
// client (the host app's time entries, tickets, projects and companies through ctx.api) and its
// export to an outside billing system with fetch() (fetch:billing.example.com), each entry once.
import { HttpError, json } from "@alga/sdk";
import { billable, linesByClient, period } from "./billing.js";

const PAGE = 100;
const MAX_RECORDS = 2000;
const MAX_ENTRIES_PER_EXPORT = 100;
const LOCK_SECONDS = 60;

/** Every record of a host resource, page by page; a host failure answers 502 in words. */
async function all(ctx, resource, query = {}) {
  const records = [];
  for (let offset = 0; offset < MAX_RECORDS; offset += PAGE) {
    let page;
    try {
      page = await ctx.api.get(`/api/v1/${resource}`, { query: { ...query, limit: String(PAGE), offset: String(offset) } });
    } catch (error) {
      if (error.name !== "ApiError") throw error;
      throw new HttpError(502, "HOST_API_FAILED", `the host app's ${resource} could not be read: ${error.message}`, { resource, code: error.code, status: error.status ?? null });
    }
    const rows = Array.isArray(page) ? page : (page?.data ?? []);
    records.push(...rows);
    if (rows.length < PAGE) break;
  }
  return records;
}

/** Ids of the entries already sent in an earlier export (namespace `exported`, 100 keys a batch). */
async function alreadyExported(ctx, ids) {
  const exported = ctx.storage.namespace("exported");
  const found = new Set();
  for (let i = 0; i < ids.length; i += 100) {
    for (const id of (await exported.getBatch(ids.slice(i, i + 100))).keys()) found.add(id);
  }
  return found;
}

/**
 * The unexported billable time of a period, by client: approved time entries with billable
 * minutes, each entry's client found through its ticket or project.
 */
async function buildPreview(ctx, from, to) {
  const span = period(from, to);
  const { hourlyRate, currency } = await ctx.settings.get();
  if (typeof hourlyRate !== "number" || !(hourlyRate >= 0)) {
    throw new HttpError(500, "SETTINGS_INVALID", `the hourlyRate setting must be a number of at least 0, not ${JSON.stringify(hourlyRate)}`);
  }
  const entries = (await all(ctx, "time-entries", { approval_status: "approved" })).filter((entry) => billable(entry, span));
  const exported = await alreadyExported(ctx, entries.map((entry) => entry.id));
  const open = entries.filter((entry) => !exported.has(entry.id)).sort((a, b) => a.start_time.localeCompare(b.start_time));
  const [tickets, projects, companies] = await Promise.all([all(ctx, "tickets"), all(ctx, "projects"), all(ctx, "companies")]);
  const companyOf = new Map([...tickets.map((t) => [`ticket:${t.id}`, t.company_id]), ...projects.map((p) => [`project:${p.id}`, p.company_id])]);
  const names = new Map(companies.map((c) => [c.id, c.name]));
  const clientOf = (entry) => {
    const id = companyOf.get(`${entry.work_item_type}:${entry.work_item_id}`) ?? "unknown";
    return { id, name: names.get(id) ?? "Unknown client" };
  };
  const lines = linesByClient(open, clientOf, hourlyRate);
  const totals = lines.reduce((sum, line) => ({ minutes: sum.minutes + line.minutes, amountCents: sum.amountCents + line.amountCents }), { minutes: 0, amountCents: 0 });
  return { from: span.from, to: span.to, currency, hourlyRate, lines, totals, alreadyExported: exported.size };
}

/** GET /access: what the page may offer this user (the export button needs `export`). */
export async function access(_request, ctx) {
  const { apiKey, currency, billingUrl } = await ctx.settings.get();
  return json({ user: ctx.user.id, canExport: ctx.permissions.has("export"), configured: Boolean(apiKey), currency, billingUrl });
}

/** GET /preview?from=YYYY-MM-DD&to=YYYY-MM-DD: the lines an export of the period would send. */
export async function preview(request, ctx) {
  return json(await buildPreview(ctx, request.query.from, request.query.to));
}

/** GET /exports: the past exports, newest first. */
export async function listExports(_request, ctx) {
  const page = await ctx.storage.namespace("exports").list({ limit: 100 });
  return json({ exports: page.items.map((item) => item.value).reverse() });
}

/** The billing system's base URL and key from the settings, or 409 saying which one an admin has to set. */
async function billingSystem(ctx) {
  const { billingUrl, apiKey } = await ctx.settings.get();
  if (!apiKey) throw new HttpError(409, "BILLING_NOT_CONFIGURED", "set the apiKey setting (an admin, in the extension's settings) before exporting", { setting: "apiKey" });
  try {
    return { base: new URL(billingUrl), apiKey };
  } catch {
    throw new HttpError(409, "BILLING_NOT_CONFIGURED", `the billingUrl setting is not a URL: ${JSON.stringify(billingUrl)}`, { setting: "billingUrl" });
  }
}

/** Sends a batch to the billing system: `POST {billingUrl}/v1/batches`; answers the system's JSON or 502 saying why not. */
async function send(system, batch) {
  let answer;
  try {
    answer = await fetch(new URL("v1/batches", system.base.href.endsWith("/") ? system.base : `${system.base.href}/`), {
      method: "POST",
      headers: { authorization: `Bearer ${system.apiKey}`, "content-type": "application/json", "idempotency-key": batch.batchId },
      body: JSON.stringify(batch),
    });
  } catch (error) {
    // A FetchError's code says why: HOST_NOT_ALLOWED for a URL off the granted host, TIMEOUT, ...
    throw new HttpError(502, "BILLING_UNREACHABLE", `the billing system could not be reached: ${error.message}`, { code: error.code ?? null });
  }
  const text = await answer.text();
  if (!answer.ok) throw new HttpError(502, "BILLING_REFUSED", `the billing system answered ${answer.status}`, { status: answer.status, body: text.slice(0, 500) });
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(502, "BILLING_REFUSED", "the billing system's answer is not JSON", { status: answer.status, body: text.slice(0, 500) });
  }
}

/**
 * POST /exports {"from", "to"}: sends the period's unexported billable time and remembers
 * every entry it sent, so the next export of an overlapping period leaves them out. A
 * one-minute lease (a key written only if absent, with a TTL) keeps two exports of the tenant
 * from running at once; the marks and the export's record are written in one transaction.
 */
export async function createExport(request, ctx) {
  const system = await billingSystem(ctx);
  const lock = ctx.storage.namespace("locks");
  try {
    await lock.set("export", { by: ctx.user.id, at: new Date().toISOString() }, { ifRevision: 0, ttlSeconds: LOCK_SECONDS });
  } catch (error) {
    if (error.code !== "REVISION_MISMATCH") throw error;
    throw new HttpError(409, "EXPORT_RUNNING", "another export is running in this tenant; try again in a minute");
  }
  try {
    const draft = await buildPreview(ctx, request.body?.from, request.body?.to);
    const entryIds = draft.lines.flatMap((line) => line.entryIds);
    if (entryIds.length === 0) throw new HttpError(409, "NOTHING_TO_EXPORT", `no unexported billable time from ${draft.from} to ${draft.to}`);
    if (entryIds.length > MAX_ENTRIES_PER_EXPORT) {
      throw new HttpError(409, "PERIOD_TOO_LARGE", `${entryIds.length} entries are due, at most ${MAX_ENTRIES_PER_EXPORT} go in one export: export a shorter period`, { entries: entryIds.length });
    }
    const batch = { batchId: crypto.randomUUID(), tenant: ctx.tenant, from: draft.from, to: draft.to, currency: draft.currency, hourlyRate: draft.hourlyRate, lines: draft.lines, totals: draft.totals };
    const remote = await send(system, batch);
    const record = { ...batch, remoteId: remote?.id ?? null, exportedAt: new Date().toISOString(), by: ctx.user.id };
    await ctx.storage.transaction(async (tx) => {
      for (const id of entryIds) await tx.namespace("exported").set(id, { batchId: batch.batchId });
      await tx.namespace("exports").set(`${record.exportedAt}/${batch.batchId}`, record);
    });
    ctx.log.info("billing export sent", { batchId: batch.batchId, entries: entryIds.length });
    return json(record, { status: 201 });
  } finally {
    await lock.delete("export");
  }
}
