// The settings form, generated from the manifest's settings schema: typed fields, masked secrets, server validation inline, reset to defaults.
//
// The runtime is the one validator: what the admin typed is sent as typed (a number field's
// text that is no number included), and the problems it answers, located by JSON pointer,
// are shown beside their fields.
import { api, extensionPath } from "./api.js";
import { Dialog } from "./dialog.js";
import { html, useEffect, useRef, useState } from "./lib.js";
import { ErrorNote, Loading } from "./problems.js";
import { notify } from "./toasts.js";

const MASK = "********";
const NUMBER = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** The form's starting values: text for text and number fields, booleans, arrays; secrets blank. */
function draftOf(view) {
  const draft = {};
  for (const def of view.schema) {
    const value = view.values[def.key];
    if (def.secret) draft[def.key] = "";
    else if (def.type === "boolean") draft[def.key] = Boolean(value);
    else if (def.type === "multiselect") draft[def.key] = Array.isArray(value) ? value : [];
    else draft[def.key] = value === null || value === undefined ? "" : String(value);
  }
  return draft;
}

/** The update to PUT: every field, typed; an empty number or select resets to the default (null); untouched secrets are left out. */
function updateOf(schema, draft, values, replacing) {
  const update = {};
  for (const def of schema) {
    const value = draft[def.key];
    if (def.secret) {
      const isSet = values[def.key] === MASK;
      if ((replacing[def.key] || !isSet) && value !== "") update[def.key] = value;
      continue;
    }
    if (def.type === "number") {
      const text = value.trim();
      update[def.key] = text === "" ? null : NUMBER.test(text) ? Number(text) : value;
    } else if (def.type === "select") update[def.key] = value === "" ? null : value;
    else update[def.key] = value;
  }
  return update;
}

/** `/maxTagsPerTicket` → `maxTagsPerTicket` (one level: settings are flat). */
const keyOf = (pointer) => (pointer || "").slice(1).split("/")[0].replace(/~1/g, "/").replace(/~0/g, "~");

/** A default as an admin reads it: on/off for booleans, lists joined, text without quotes. */
const shown = (value) => (value === true ? "on" : value === false ? "off" : Array.isArray(value) ? value.join(", ") || "none" : String(value));

function Field({ def, value, setValue, stored, replacing, setReplacing, problem }) {
  const id = `setting-${def.key}`;
  const described = [def.description ? `${id}-help` : "", problem ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  const invalid = problem ? "true" : undefined;
  const defaultNote = def.default !== undefined && !def.secret ? ` Default: ${shown(def.default)}.` : "";
  const help = def.description || defaultNote ? html`<p id=${`${id}-help`} class="help">${def.description || ""}${defaultNote}</p>` : null;
  const error = problem ? html`<p id=${`${id}-error`} class="field-error">${problem}</p>` : null;
  const label = html`${def.label}${def.required ? html` <span class="muted">(required)</span>` : null}`;
  let control;
  if (def.type === "boolean") {
    return html`<div class="field field--check" data-setting=${def.key}>
      <label class="check"><input type="checkbox" id=${id} checked=${value} aria-describedby=${described} aria-invalid=${invalid}
        onChange=${(e) => setValue(e.currentTarget.checked)} /> ${label}</label>${help}${error}
    </div>`;
  }
  if (def.type === "multiselect") {
    return html`<fieldset class="field" data-setting=${def.key} aria-describedby=${described}>
      <legend>${label}</legend>
      ${(def.options || []).map(
        (o) => html`<label class="check"><input type="checkbox" checked=${value.includes(o)}
          onChange=${(e) => setValue(e.currentTarget.checked ? [...value, o] : value.filter((v) => v !== o))} /> ${o}</label>`,
      )}${help}${error}
    </fieldset>`;
  }
  if (def.type === "select") {
    control = html`<select id=${id} value=${value} aria-describedby=${described} aria-invalid=${invalid} onChange=${(e) => setValue(e.currentTarget.value)}>
      ${def.required ? null : html`<option value="">(default)</option>`}
      ${(def.options || []).map((o) => html`<option value=${o}>${o}</option>`)}
    </select>`;
  } else if (def.secret && stored === MASK && !replacing) {
    // The label names the Replace button, the one control of a set secret.
    control = html`<div class="secret" id=${`${id}-secret`}>
      <span class="secret__mask" role="img" aria-label="A value is set (hidden)">••••••••</span>
      <button type="button" class="button" id=${id} onClick=${() => setReplacing(true)} aria-describedby=${described}>Replace</button>
    </div>`;
  } else if (def.secret) {
    control = html`<div class="secret">
      <input id=${id} type="password" autocomplete="new-password" value=${value} aria-describedby=${described} aria-invalid=${invalid}
        onInput=${(e) => setValue(e.currentTarget.value)} data-replacing=${replacing ? "1" : undefined} />
      ${replacing ? html`<button type="button" class="button" onClick=${() => { setValue(""); setReplacing(false); }}>Keep the current value</button>` : null}
    </div>`;
  } else {
    // Text, even for numbers: the runtime decides what is valid and says why not.
    control = html`<input id=${id} type="text" inputmode=${def.type === "number" ? "decimal" : undefined} value=${value}
      aria-describedby=${described} aria-invalid=${invalid} onInput=${(e) => setValue(e.currentTarget.value)} autocomplete="off" />`;
  }
  return html`<div class="field" data-setting=${def.key}><label for=${id}>${label}</label>${control}${help}${error}</div>`;
}

export function Settings({ ext }) {
  const [state, setState] = useState({ loading: true, view: null, error: null });
  const [draft, setDraft] = useState({});
  const [replacing, setReplacing] = useState({});
  const [problems, setProblems] = useState({});
  const [formError, setFormError] = useState(null);
  const [saving, setSaving] = useState(false);
  const [resetOpen, setResetOpen] = useState(false);
  const form = useRef(null);

  const show = (view) => {
    setState({ loading: false, view, error: null });
    setDraft(draftOf(view));
    setReplacing({});
    setProblems({});
    setFormError(null);
  };
  useEffect(() => {
    api(extensionPath(ext.id, "/settings"))
      .then(show)
      .catch((error) => setState({ loading: false, view: null, error }));
    // An approved update may bring other settings: read them again when the version changes.
  }, [ext.id, ext.version]);

  // A secret being replaced gets focus as soon as its input exists.
  useEffect(() => {
    const input = form.current && form.current.querySelector("[data-replacing='1']");
    if (input && document.activeElement !== input) input.focus();
  }, [replacing]);

  const save = async (event) => {
    event.preventDefault();
    setSaving(true);
    setProblems({});
    setFormError(null);
    try {
      show(await api(extensionPath(ext.id, "/settings"), { method: "PUT", body: updateOf(state.view.schema, draft, state.view.values, replacing) }));
      notify(`Settings of ${ext.name} saved.`);
    } catch (err) {
      const byKey = {};
      const known = new Set(state.view.schema.map((d) => d.key));
      const rest = [];
      for (const p of (err.details && err.details.problems) || []) {
        if (known.has(keyOf(p.pointer))) byKey[keyOf(p.pointer)] = p.message;
        else rest.push(p);
      }
      setProblems(byKey);
      if (rest.length || !Object.keys(byKey).length) setFormError({ code: err.code, message: err.message, details: { problems: rest } });
      const count = Object.keys(byKey).length + rest.length;
      notify(count ? `Settings not saved: ${count === 1 ? "1 problem" : `${count} problems`} to fix.` : `Settings not saved: ${err.message}`, "error");
      // Focus the first field the runtime refused, after it has rendered its message.
      setTimeout(() => {
        const first = form.current && form.current.querySelector("[aria-invalid='true']");
        if (first) first.focus();
      });
    } finally {
      setSaving(false);
    }
  };

  const reset = async () => {
    try {
      show(await api(extensionPath(ext.id, "/settings"), { method: "DELETE" }));
      notify(`Settings of ${ext.name} are back to their defaults.`);
    } catch (err) {
      notify(`Could not reset the settings: ${err.message}`, "error");
    }
    setResetOpen(false);
  };

  let body;
  if (state.loading) body = html`<${Loading} what="settings" />`;
  else if (state.error) body = html`<${ErrorNote} error=${state.error} title="The settings could not be loaded." />`;
  else if (!state.view.schema.length) body = html`<p class="muted">It has no settings.</p>`;
  else {
    const { schema, values } = state.view;
    body = html`<form ref=${form} id="settings-form" onSubmit=${save} novalidate>
      ${schema.map(
        (def) => html`<${Field} key=${def.key} def=${def} value=${draft[def.key]} stored=${values[def.key]} problem=${problems[def.key]}
          setValue=${(v) => setDraft((d) => ({ ...d, [def.key]: v }))} replacing=${Boolean(replacing[def.key])}
          setReplacing=${(on) => setReplacing((r) => ({ ...r, [def.key]: on }))} />`,
      )}
      ${formError && formError.details.problems.length ? html`<${ErrorNote} error=${formError} />` : null}
      ${formError && !formError.details.problems.length ? html`<div class="alert alert--danger" role="alert"><p>${formError.message}</p></div>` : null}
      <div class="actions">
        <button type="submit" class="button button--primary" id="save-settings" disabled=${saving}>${saving ? "Saving…" : "Save settings"}</button>
        <button type="button" class="button" id="reset-settings" onClick=${() => setResetOpen(true)}>Reset to defaults…</button>
      </div>
    </form>
    <${Dialog} open=${resetOpen} title=${`Reset the settings of ${ext.name}?`} onClose=${() => setResetOpen(false)}>
      <p>Every setting goes back to its default, and secrets are cleared.</p>
      <div class="actions">
        <button type="button" class="button" onClick=${() => setResetOpen(false)} data-autofocus>Cancel</button>
        <button type="button" class="button button--danger" id="confirm-reset" onClick=${reset}>Reset settings</button>
      </div>
    <//>`;
  }
  return html`<section class="card" aria-labelledby="settings-title" id="settings">
    <h2 id="settings-title">Settings</h2>
    ${body}
  </section>`;
}
