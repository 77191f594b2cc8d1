// What happened lately: recent errors (limit hits, crashes, breaker trips), the extension's log, and the audit log's entries about it.
import { api, extensionPath } from "./api.js";
import { When, actionWords, errorWords } from "./format.js";
import { html, useEffect, useState } from "./lib.js";
import { ErrorNote, Loading } from "./problems.js";

const SHOWN = 10;

/** Runs `load` again whenever `deps` change; answers `{loading, data, error}`. */
function useLoad(load, deps) {
  const [state, setState] = useState({ loading: true, data: null, error: null });
  useEffect(() => {
    let live = true;
    load()
      .then((data) => live && setState({ loading: false, data, error: null }))
      .catch((error) => live && setState({ loading: false, data: null, error }));
    return () => {
      live = false;
    };
  }, deps);
  return state;
}

export function RecentErrors({ ext, version }) {
  const state = useLoad(() => api(extensionPath(ext.id, "/errors")), [ext.id, version]);
  let body;
  if (state.loading) body = html`<${Loading} what="recent errors" />`;
  else if (state.error) body = html`<${ErrorNote} error=${state.error} title="Recent errors could not be loaded." />`;
  else if (!state.data.errors.length) body = html`<p class="muted" id="no-errors">No recent errors: no limit hits, crashes or breaker trips seen by this node since it started.</p>`;
  else {
    body = html`<ul class="events" id="errors-list">
      ${state.data.errors.slice(0, SHOWN).map(
        (e) => html`<li><span class="events__when"><${When} at=${e.at} /></span>
          <strong>${errorWords(e.code)}</strong> <code class="muted">${e.code}</code><span class="events__what">${e.message}</span></li>`,
      )}
    </ul>`;
  }
  return html`<section class="card" aria-labelledby="errors-title" id="recent-errors">
    <h2 id="errors-title">Recent errors</h2>
    ${body}
  </section>`;
}

const LEVELS = ["debug", "info", "warn", "error"];

/** The extension's recent log on this node (its console output and what happened to it), newest first, from a chosen level up. */
export function RecentLog({ ext, version }) {
  const [level, setLevel] = useState("info");
  const state = useLoad(() => api(extensionPath(ext.id, "/logs"), { query: { level, limit: 20 } }), [ext.id, version, level]);
  let body;
  if (state.loading) body = html`<${Loading} what="the log" />`;
  else if (state.error) body = html`<${ErrorNote} error=${state.error} title="The log could not be loaded." />`;
  else if (!state.data.entries.length) body = html`<p class="muted">Nothing logged at this level on this node since it started.</p>`;
  else {
    body = html`<ul class="events log" id="log-list">
      ${state.data.entries.map(
        (e) => html`<li class=${`log--${e.level}`}><span class="events__when"><${When} at=${e.at} /> · ${e.level} · ${e.source === "console" ? "its console" : "the runtime"}</span>
          <span class="events__what mono">${e.message}</span></li>`,
      )}
    </ul>`;
  }
  return html`<section class="card" aria-labelledby="log-title" id="recent-log">
    <h2 id="log-title">Recent log</h2>
    <div class="field field--inline">
      <label for="log-level">Lowest level shown</label>
      <select id="log-level" value=${level} onChange=${(e) => setLevel(e.currentTarget.value)}>${LEVELS.map((l) => html`<option value=${l}>${l}</option>`)}</select>
    </div>
    ${body}
  </section>`;
}

/** Details of an audit entry worth a line: granted capabilities, changed keys, a reason, a role. */
function detailWords(entry) {
  const d = entry.details || {};
  const parts = [];
  if (d.fromVersion) parts.push(`from ${d.fromVersion} to ${d.version}`);
  else if (d.version) parts.push(`version ${d.version}`);
  if (Array.isArray(d.granted) && d.granted.length) parts.push(`granted ${d.granted.join(", ")}`);
  if (Array.isArray(d.keys) && d.keys.length) parts.push(`keys ${d.keys.join(", ")}`);
  if (d.role && d.permission) parts.push(`${d.permission} ${entry.action.endsWith("revoked") ? "from" : "to"} ${d.role}`);
  if (d.reason) parts.push(d.reason);
  if (d.purged !== undefined) parts.push(d.purged ? "its data deleted" : "its data kept");
  return parts.join("; ");
}

/** The tenant's audit log narrowed to this extension: by target id, or by its key in the details. */
const about = (ext) => (entry) =>
  entry.target === ext.id || (entry.details && (entry.details.extension === ext.key || entry.details.extensionId === ext.id)) ||
  (entry.details && typeof entry.details.permission === "string" && entry.details.permission.startsWith(`${ext.key}:`));

export function RecentAudit({ ext, version }) {
  const state = useLoad(() => api("/admin/v1/audit", { query: { limit: 200 } }), [ext.id, version]);
  let body;
  if (state.loading) body = html`<${Loading} what="the audit log" />`;
  else if (state.error) body = html`<${ErrorNote} error=${state.error} title="The audit log could not be loaded." />`;
  else {
    const entries = state.data.entries.filter(about(ext)).slice(0, SHOWN);
    body = entries.length
      ? html`<ul class="events" id="audit-list">
          ${entries.map(
            (e) => html`<li><span class="events__when"><${When} at=${e.at} /></span>
              <span><strong>${e.actor}</strong> ${actionWords(e.action)}</span>
              ${detailWords(e) ? html`<span class="events__what">${detailWords(e)}</span>` : null}</li>`,
          )}
        </ul>`
      : html`<p class="muted">No recorded actions about it among the tenant's latest 200.</p>`;
  }
  return html`<section class="card" aria-labelledby="audit-title" id="recent-audit">
    <h2 id="audit-title">Recent activity</h2>
    ${body}
  </section>`;
}
