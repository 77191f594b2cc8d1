// Server errors in words: the message, and every problem of a refused bundle or form with its field path or file:line.
import { html } from "./lib.js";

/** A JSON pointer as a readable path: `/extensionPoints/pages/0/handler` → `extensionPoints.pages[0].handler`. */
export function fieldPath(pointer) {
  if (!pointer || pointer === "/") return "(the whole document)";
  return pointer
    .split("/")
    .slice(1)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), "");
}

/**
 * Every problem an error's details carry, as `{where, pointer, message}`: manifest and
 * settings problems (`pointer`), module problems (`file`, `line`, `column`), edition
 * problems (`unsupported`), a single `field` or `path`.
 */
export function problemsOf(error) {
  const details = (error && error.details) || {};
  const out = [];
  for (const p of details.problems || []) {
    if (p.file) out.push({ where: `${p.file}:${p.line}${p.column ? `:${p.column}` : ""}`, message: p.message });
    else out.push({ where: fieldPath(p.pointer), pointer: p.pointer, message: p.message || p.kind });
  }
  for (const u of details.unsupported || []) {
    out.push({ where: fieldPath(u.pointer), pointer: u.pointer, message: `needs the enterprise edition (${u.kind})` });
  }
  if (details.path && !out.length) out.push({ where: details.path, message: error.message });
  return out;
}

/** The one field an error names (`details.field`), for putting its message beside that field. */
export const fieldOf = (error) => (error && error.details && typeof error.details.field === "string" ? error.details.field : null);

/**
 * An error as an alert: its message, then its problems one per line. `where` prefixes problem
 * locations (e.g. "manifest.json"), since pointers alone do not say which document they point into.
 */
export function ErrorNote({ error, title, where = "" }) {
  if (!error) return null;
  const problems = problemsOf(error);
  return html`<div class="alert alert--danger" role="alert" data-code=${error.code}>
    ${title ? html`<p class="alert__title">${title}</p>` : null}
    ${problems.length
      ? html`<p>${problems.length === 1 ? "There is 1 problem:" : `There are ${problems.length} problems:`}</p>
          <ul class="problems">
            ${problems.map(
              (p) => html`<li><code>${p.pointer !== undefined && where ? `${where} → ${p.where}` : p.where}</code> ${p.message}</li>`,
            )}
          </ul>`
      : html`<p>${error.message}</p>`}
  </div>`;
}

/** A section's loading, error or empty state, so no section is ever silently blank. */
export function Loading({ what }) {
  return html`<p class="loading" role="status"><span class="spinner" aria-hidden="true"></span>Loading ${what}…</p>`;
}
