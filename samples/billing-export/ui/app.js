// Billing Export's page script: previews a period and exports it through the extension's endpoints (via the host, never holding a token).
import { callHandlerJson, createBridge } from "./vendor/alga-page.js";
import { AlgaToast } from "./vendor/alga-ui.js";

const $ = (id) => document.getElementById(id);
const form = $("period");
const previewCard = $("preview");
const exportButton = $("export");
const whyNot = $("why-not");
const confirmDialog = $("confirm");

/** What `/access` said: whether this user may export and whether the billing system is set up. */
let access = { canExport: false, configured: false, currency: "USD" };
/** The preview on screen, the one an export sends. */
let shown = null;

/**
 * The field a refusal names. The runtime's apiproxy passes an HttpError's code, message and
 * status to the page but not its `details`, so the field is read from the message, which the
 * endpoints start with it ("to: a day written as …").
 */
function refusedField(error) {
  return error.code === "VALIDATION_FAILED" ? (/^(\w+): /.exec(error.message)?.[1] ?? null) : null;
}

/** "1 entry", "2 entries". */
const count = (n, one, many) => `${n} ${n === 1 ? one : many}`;

const money = (cents, currency) => new Intl.NumberFormat("en", { style: "currency", currency }).format(cents / 100);

/** The first day of this month and today, as the period the page starts with. */
function thisMonth() {
  const today = new Date().toISOString().slice(0, 10);
  return { from: `${today.slice(0, 8)}01`, to: today };
}

function showPreview(preview) {
  shown = preview;
  $("loading").hidden = true;
  $("empty").hidden = preview.lines.length > 0;
  $("lines").hidden = preview.lines.length === 0;
  $("lines").setData(
    [
      { key: "client", label: "Client", sort: "text" },
      { key: "hours", label: "Hours", sort: "number" },
      { key: "amount", label: `Amount (${preview.currency})`, sort: "number" },
      { key: "entries", label: "Entries", sort: "number" },
    ],
    preview.lines.map((line) => ({ client: line.client, hours: line.hours, amount: (line.amountCents / 100).toFixed(2), entries: line.entryIds.length })),
  );
  const skipped = preview.alreadyExported ? ` ${count(preview.alreadyExported, "entry of this period was", "entries of this period were")} exported before and ${preview.alreadyExported === 1 ? "is" : "are"} left out.` : "";
  $("total").textContent = `${preview.from} to ${preview.to}: ${(preview.totals.minutes / 60).toFixed(2)} hours, ${money(preview.totals.amountCents, preview.currency)}.${skipped}`;
  updateExportButton();
}

/** The export button is offered only when it can work, and says why not otherwise. */
function updateExportButton() {
  const reason = !access.canExport
    ? "Exporting needs the export permission: ask an administrator."
    : !access.configured
      ? "An administrator has to set the billing system's API key first."
      : !shown || shown.lines.length === 0
        ? "Nothing to export."
        : "";
  exportButton.toggleAttribute("disabled", reason !== "");
  whyNot.hidden = reason === "";
  whyNot.textContent = reason;
}

async function loadPreview() {
  const from = $("from").value.trim();
  const to = $("to").value.trim();
  previewCard.hidden = false;
  $("loading").hidden = false;
  try {
    showPreview(await callHandlerJson(`/preview?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`));
  } catch (error) {
    // No stale preview stays on screen to be exported by mistake.
    shown = null;
    previewCard.hidden = true;
    // A field the server refused is marked under that field.
    const field = refusedField(error);
    if (field === "from" || field === "to") $(field).setAttribute("error", error.message.slice(field.length + 2));
    else AlgaToast.show(`Could not load the preview: ${error.message}`, { tone: "danger" });
  }
}

async function loadHistory() {
  const { exports } = await callHandlerJson("/exports");
  $("no-history").hidden = exports.length > 0;
  $("history").hidden = exports.length === 0;
  $("history").setData(
    [
      { key: "exportedAt", label: "Sent", sort: "text" },
      { key: "period", label: "Period", sort: "text" },
      { key: "amount", label: "Amount", sort: "number" },
      { key: "by", label: "By", sort: "text" },
      { key: "remoteId", label: "Billing batch", sort: "text" },
    ],
    exports.map((record) => ({
      exportedAt: record.exportedAt.slice(0, 16).replace("T", " "),
      period: `${record.from} to ${record.to}`,
      amount: money(record.totals.amountCents, record.currency),
      by: record.by,
      remoteId: record.remoteId ?? "",
    })),
  );
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  $("from").removeAttribute("error");
  $("to").removeAttribute("error");
  loadPreview();
});

exportButton.addEventListener("click", () => {
  const entries = shown.lines.reduce((n, line) => n + line.entryIds.length, 0);
  $("confirm-text").textContent = `${count(entries, "time entry", "time entries")} of ${count(shown.lines.length, "client", "clients")}, ${money(shown.totals.amountCents, shown.currency)}, from ${shown.from} to ${shown.to}. They will not be exported again.`;
  confirmDialog.show();
});

confirmDialog.addEventListener("close", async (event) => {
  if (event.detail.returnValue !== "send") return;
  exportButton.setAttribute("disabled", "");
  try {
    const record = await callHandlerJson("/exports", { method: "POST", body: { from: shown.from, to: shown.to } });
    AlgaToast.show(`Sent ${money(record.totals.amountCents, record.currency)} to billing (batch ${record.remoteId ?? record.batchId}).`, { tone: "success" });
    await Promise.all([loadHistory(), loadPreview()]);
  } catch (error) {
    AlgaToast.show(error.message, { tone: "danger", title: "Not exported" });
    updateExportButton();
  }
});

// The bridge answers the host's bootstrap (theme, user) and keeps the frame's height right.
createBridge();
const start = thisMonth();
$("from").value = start.from;
$("to").value = start.to;
callHandlerJson("/access")
  .then((answer) => {
    access = answer;
    updateExportButton();
  })
  .catch((error) => AlgaToast.show(`Could not ask what you may do: ${error.message}`, { tone: "danger" }));
loadHistory().catch((error) => AlgaToast.show(`Could not load past exports: ${error.message}`, { tone: "danger" }));
