// Resources: storage used against the tenant quota (as bars), and the isolate limits with the admin's overrides.
import { api, extensionPath } from "./api.js";
import { bytes, number } from "./format.js";
import { html, useEffect, useState } from "./lib.js";
import { ErrorNote, Loading } from "./problems.js";
import { notify } from "./toasts.js";

/** A labelled <meter>: the browser draws the bar and assistive tech reads the value, no inline style needed. */
function Bar({ id, label, value, max, text }) {
  return html`<div class="bar">
    <label for=${id}>${label}</label>
    <meter id=${id} min="0" max=${max} value=${value} low=${max * 0.6} high=${max * 0.8} optimum="0">${text}</meter>
    <span class="bar__text">${text}</span>
  </div>`;
}

export function StorageUsage({ ext, version }) {
  const [state, setState] = useState({ loading: true, usage: null, error: null });
  useEffect(() => {
    api(extensionPath(ext.id, "/storage/usage"))
      .then((usage) => setState({ loading: false, usage, error: null }))
      .catch((error) => setState({ loading: false, usage: null, error }));
  }, [ext.id, version]);
  let body;
  if (state.loading) body = html`<${Loading} what="storage usage" />`;
  else if (state.error) body = html`<${ErrorNote} error=${state.error} title="Storage usage could not be loaded." />`;
  else {
    const u = state.usage;
    body = html`<${Bar} id="usage-bytes" label="Space" value=${u.bytes} max=${u.maxBytes} text=${`${bytes(u.bytes)} of ${bytes(u.maxBytes)} (${u.bytesPercent}%)`} />
      <${Bar} id="usage-keys" label="Keys" value=${u.keys} max=${u.maxKeys} text=${`${number(u.keys)} of ${number(u.maxKeys)} (${u.keysPercent}%)`} />
      ${u.warning
        ? html`<div class="alert alert--warning" role="status"><p>It uses 80% or more of its quota. When full, its writes fail; ask its publisher, or raise the quota (<code>--storage-max-bytes</code>, <code>--storage-max-keys</code>).</p></div>`
        : null}`;
  }
  return html`<section class="card" aria-labelledby="storage-title" id="storage">
    <h2 id="storage-title">Storage</h2>
    ${body}
  </section>`;
}

const LIMITS = [
  { key: "cpuSoftMs", label: "CPU time before its isolate is replaced", unit: "ms", ceiling: "cpuHardMs" },
  { key: "cpuHardMs", label: "CPU time per call", unit: "ms", ceiling: "cpuHardMs" },
  { key: "heapMb", label: "Memory (heap)", unit: "MB", ceiling: "heapMb" },
  { key: "timeoutMs", label: "Time per call (wall clock)", unit: "ms", ceiling: "timeoutMs" },
  { key: "maxBodyBytes", label: "Largest request body", unit: "bytes", ceiling: "maxBodyBytes" },
];

/** The effective limits, and a form of overrides (blank keeps the runtime's default) checked by the runtime against its ceilings. */
export function Limits({ ext }) {
  const [state, setState] = useState({ loading: true, view: null, error: null });
  const [draft, setDraft] = useState({});
  const [problems, setProblems] = useState({});
  const [saving, setSaving] = useState(false);
  const show = (view) => {
    setState({ loading: false, view, error: null });
    setDraft(Object.fromEntries(LIMITS.map((l) => [l.key, view.overrides[l.key] === undefined ? "" : String(view.overrides[l.key])])));
    setProblems({});
  };
  useEffect(() => {
    api(extensionPath(ext.id, "/limits"))
      .then(show)
      .catch((error) => setState({ loading: false, view: null, error }));
  }, [ext.id]);

  const save = async (event) => {
    event.preventDefault();
    const overrides = {};
    const local = {};
    for (const l of LIMITS) {
      const text = draft[l.key].trim();
      if (text === "") continue;
      if (!/^\d+$/.test(text)) local[l.key] = `“${text}” is not a whole number.`;
      else overrides[l.key] = Number(text);
    }
    if (Object.keys(local).length) {
      setProblems(local);
      notify("Limits not saved: fix the marked fields.", "error");
      return;
    }
    setSaving(true);
    try {
      show(await api(extensionPath(ext.id, "/limits"), { method: "PUT", body: overrides }));
      notify(`Limits of ${ext.name} saved.`);
    } catch (err) {
      const byKey = {};
      for (const p of (err.details && err.details.problems) || []) byKey[p.pointer.slice(1)] = p.message;
      setProblems(byKey);
      notify(`Limits not saved: ${err.message}`, "error");
    } finally {
      setSaving(false);
    }
  };

  let body;
  if (state.loading) body = html`<${Loading} what="limits" />`;
  else if (state.error) body = html`<${ErrorNote} error=${state.error} title="The limits could not be loaded." />`;
  else {
    const { effective, ceilings } = state.view;
    body = html`<form onSubmit=${save} id="limits-form" novalidate>
      <p class="help">Blank fields keep the runtime's default. Each call of the extension is stopped when it passes a limit.</p>
      ${LIMITS.map((l) => {
        const id = `limit-${l.key}`;
        return html`<div class="field field--inline">
          <label for=${id}>${l.label} (${l.unit})</label>
          <input id=${id} inputmode="numeric" value=${draft[l.key]} placeholder=${String(effective[l.key])} autocomplete="off"
            aria-describedby=${`${id}-help${problems[l.key] ? ` ${id}-error` : ""}`} aria-invalid=${problems[l.key] ? "true" : undefined}
            onInput=${(e) => setDraft((d) => ({ ...d, [l.key]: e.currentTarget.value }))} />
          <p id=${`${id}-help`} class="help">Now ${number(effective[l.key])}; at most ${number(ceilings[l.ceiling])}.</p>
          ${problems[l.key] ? html`<p id=${`${id}-error`} class="field-error">${problems[l.key]}</p>` : null}
        </div>`;
      })}
      <div class="actions"><button type="submit" class="button" disabled=${saving}>${saving ? "Saving…" : "Save limits"}</button></div>
    </form>`;
  }
  return html`<section class="card" aria-labelledby="limits-title" id="limits">
    <h2 id="limits-title">Limits</h2>
    ${body}
  </section>`;
}
