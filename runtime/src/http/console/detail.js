// An extension's page: manifest facts, capabilities, approval, enable/disable, uninstall, and the sections of the other modules.
import { RecentAudit, RecentErrors, RecentLog } from "./activity.js";
import { ExtensionPoints, RolesGrid } from "./access.js";
import { api, extensionPath } from "./api.js";
import { Dialog } from "./dialog.js";
import { Badges, When, badgesOf } from "./format.js";
import { html, useEffect, useState } from "./lib.js";
import { usePage } from "./page.js";
import { ErrorNote, Loading } from "./problems.js";
import { Settings } from "./settings.js";
import { notify } from "./toasts.js";
import { Limits, StorageUsage } from "./usage.js";

/** Capabilities in plain words: each requested one, what it lets the extension do, and whether it is granted. */
function Capabilities({ detail }) {
  const described = new Map(((detail.review && detail.review.capabilities) || []).map((c) => [c.capability, c.description]));
  const rows = detail.capabilities.map((c) => ({ name: `${c.resource}:${c.action}`, granted: c.granted }));
  if (!rows.length) return html`<p class="muted">It asks for no capabilities: it cannot read storage or call the host app.</p>`;
  return html`<ul class="capabilities" id="capabilities">
    ${rows.map(
      (c) => html`<li data-capability=${c.name}>
        <span class=${`badge badge--${c.granted ? "success" : "warning"}`}>${c.granted ? "Granted" : "Requested"}</span>
        <span>May <strong>${described.get(c.name) || c.name}</strong> <code class="muted">${c.name}</code></span>
      </li>`,
    )}
  </ul>`;
}

/** The permission diff of an update: what it adds, drops and keeps. */
export function PermissionDiff({ diff, described }) {
  const item = (name) => html`<li><code>${name}</code> ${described.get(name) ? html`— ${described.get(name)}` : null}</li>`;
  return html`<div class="diff">
    ${diff.added.length ? html`<h4>Added (newly asked for)</h4><ul class="diff__added">${diff.added.map(item)}</ul>` : null}
    ${diff.removed.length ? html`<h4>Removed (no longer needed)</h4><ul class="diff__removed">${diff.removed.map(item)}</ul>` : null}
    ${diff.unchanged.length ? html`<h4>Unchanged</h4><ul>${diff.unchanged.map(item)}</ul>` : null}
    ${!diff.added.length && !diff.removed.length ? html`<p>It asks for the same capabilities as the version serving now.</p>` : null}
  </div>`;
}

/** Approval of a first install or of a waiting update, with "enable" offered alongside. */
function Approval({ detail, onDone }) {
  const ext = detail.extension;
  const update = detail.pendingUpdate;
  const [enable, setEnable] = useState(update ? ext.enabled : true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const review = (update && update.review) || detail.review;
  const described = new Map(((review && review.capabilities) || []).map((c) => [c.capability, c.description]));
  const reject = async () => {
    setBusy(true);
    setError(null);
    try {
      await api(extensionPath(ext.id, "/pending"), { method: "DELETE" });
      notify(`Update ${update.version} of ${ext.name} was rejected; ${ext.version} keeps serving.`);
      onDone();
    } catch (err) {
      setError(err);
      notify(`Rejecting the update failed: ${err.message}`, "error");
    } finally {
      setBusy(false);
    }
  };
  const approve = async () => {
    setBusy(true);
    setError(null);
    try {
      await api(extensionPath(ext.id, "/approve"), { method: "POST", body: { enable } });
      notify(update ? `${ext.name} ${update.version} is approved and now serving.` : `${ext.name} is approved${enable ? " and enabled" : ""}.`);
      onDone();
    } catch (err) {
      setError(err);
      notify(`Approval failed: ${err.message}`, "error");
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="card card--attention" aria-labelledby="approval-title" id="approval">
    <h2 id="approval-title">${update ? `Update ${update.version} waits for approval` : "Waiting for approval"}</h2>
    ${update
      ? html`<p>Version ${update.version} was uploaded; ${ext.version} keeps serving until you approve. What changes in its capabilities:</p>
          <${PermissionDiff} diff=${update.permissionDiff} described=${described} />`
      : html`<p>Review what it asks for (below), then approve it. Nothing of it runs before; to refuse it, uninstall it.</p>`}
    <${ErrorNote} error=${error} />
    <div class="actions">
      ${update && ext.enabled
        ? html`<p>It is enabled and stays enabled on the new version.</p>`
        : html`<label class="check"><input type="checkbox" checked=${enable} onChange=${(e) => setEnable(e.currentTarget.checked)} /> Enable after approving</label>`}
      <button type="button" class="button button--primary" id="approve" onClick=${approve} disabled=${busy}>
        ${busy ? "Approving…" : update ? `Approve ${update.version}` : "Approve"}
      </button>
      ${update ? html`<button type="button" class="button" id="reject-update" onClick=${reject} disabled=${busy}>Reject ${update.version}</button>` : null}
    </div>
  </section>`;
}

/** The enable/disable switch; not offered before approval. */
function EnableSwitch({ ext, onDone }) {
  const [busy, setBusy] = useState(false);
  if (ext.status === "pending_approval") return null;
  const on = ext.enabled;
  const toggle = async () => {
    setBusy(true);
    try {
      await api(extensionPath(ext.id, on ? "/disable" : "/enable"), { method: "POST" });
      notify(on ? `${ext.name} is disabled: nothing of it runs now.` : `${ext.name} is enabled.`);
      onDone();
    } catch (err) {
      notify(`Could not ${on ? "disable" : "enable"} ${ext.name}: ${err.message}`, "error");
    } finally {
      setBusy(false);
    }
  };
  return html`<button type="button" role="switch" class="switch" id="enabled-switch" aria-checked=${on ? "true" : "false"} onClick=${toggle} disabled=${busy}>
    <span class="switch__track" aria-hidden="true"><span class="switch__thumb"></span></span>
    <span>${ext.status === "suspended" ? "Enabled (suspended: switch on to resume)" : "Enabled"}</span>
  </button>`;
}

/** Uninstall, confirmed in a dialog that names the extension and asks for its name typed. */
function Uninstall({ ext }) {
  const [open, setOpen] = useState(false);
  const [purge, setPurge] = useState(false);
  const [typed, setTyped] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const matches = typed.trim() === ext.name;
  const confirm = async (event) => {
    event.preventDefault();
    if (!matches) return;
    setBusy(true);
    try {
      await api(extensionPath(ext.id), { method: "DELETE", query: { purge: purge ? "true" : undefined } });
      notify(`${ext.name} was uninstalled${purge ? " and its data deleted" : "; its data is kept"}.`);
      setOpen(false);
      location.hash = "#/";
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const close = () => {
    setOpen(false);
    setTyped("");
    setError(null);
    setBusy(false);
  };
  return html`<button type="button" class="button button--danger" id="uninstall" onClick=${() => setOpen(true)}>Uninstall…</button>
    <${Dialog} open=${open} title=${`Uninstall ${ext.name}?`} onClose=${close} tone="dialog--danger">
      <form onSubmit=${confirm} id="uninstall-form">
        <p>${ext.name} ${ext.version} stops at once for every user of this tenant, and its pages, widgets and endpoints disappear.</p>
        <label class="check"><input type="checkbox" id="purge" checked=${purge} onChange=${(e) => setPurge(e.currentTarget.checked)} />
          Also delete its data (everything it stored in this tenant). This cannot be undone.</label>
        <label for="confirm-name">Type <strong>${ext.name}</strong> to confirm</label>
        <input id="confirm-name" autocomplete="off" value=${typed} onInput=${(e) => setTyped(e.currentTarget.value)} data-autofocus />
        <${ErrorNote} error=${error} />
        <div class="actions">
          <button type="button" class="button" onClick=${close}>Cancel</button>
          <button type="submit" class="button button--danger" id="confirm-uninstall" disabled=${!matches || busy}>
            ${busy ? "Uninstalling…" : `Uninstall ${ext.name}${purge ? " and delete its data" : ""}`}
          </button>
        </div>
      </form>
    <//>`;
}

function Facts({ detail }) {
  const ext = detail.extension;
  const m = ext.manifest || {};
  const serving = detail.versions.find((v) => v.state === "active") || detail.versions[0];
  return html`<dl class="facts" id="facts">
    <dt>Id</dt><dd class="mono">${ext.key}</dd>
    <dt>Version</dt><dd>${ext.version}</dd>
    <dt>Publisher</dt><dd>${m.publisher || "—"}</dd>
    <dt>License</dt><dd>${m.license || "—"}</dd>
    <dt>Needs runtime</dt><dd>${(m.engines && m.engines.alga) || "—"}</dd>
    <dt>Main module</dt><dd class="mono">${ext.mainEntryPoint}</dd>
    <dt>Signed by</dt><dd>${(serving && serving.signer) || "not signed"}</dd>
    <dt>Installed</dt><dd><${When} at=${ext.createdAt} /></dd>
    <dt>Last changed</dt><dd><${When} at=${ext.updatedAt} /></dd>
    <dt>Bundle hash</dt><dd class="mono" title=${ext.bundleHash}>${ext.bundleHash.slice(0, 16)}…</dd>
    <dt>Versions</dt><dd>${detail.versions.map((v) => `${v.version} (${v.state})`).join(", ")}</dd>
  </dl>`;
}

export function Detail({ extensionKey }) {
  const [state, setState] = useState({ loading: true, detail: null, error: null });
  const [version, setVersion] = useState(0);
  const refresh = () => setVersion((n) => n + 1);
  const title = state.detail ? state.detail.extension.name : extensionKey;
  const heading = usePage(title, state.detail ? "loaded" : "loading");

  useEffect(() => {
    let live = true;
    api(extensionPath(extensionKey))
      .then((detail) => live && setState({ loading: false, detail, error: null }))
      .catch((error) => live && setState({ loading: false, detail: null, error }));
    return () => {
      live = false;
    };
  }, [extensionKey, version]);

  if (!state.detail) {
    return html`<section class="screen" aria-labelledby="detail-title">
      <p><a href="#/">← All extensions</a></p>
      <h1 id="detail-title" tabindex="-1" ref=${heading}>${extensionKey}</h1>
      ${state.loading ? html`<${Loading} what="the extension" />` : null}
      ${state.error
        ? html`<${ErrorNote} error=${state.error} title=${state.error.status === 404 ? "There is no such extension in this tenant." : "The extension could not be loaded."} />
            <button type="button" class="button" onClick=${refresh}>Try again</button>`
        : null}
    </section>`;
  }
  const { detail } = state;
  const ext = detail.extension;
  const pendingVersion = detail.pendingUpdate && detail.pendingUpdate.version;
  return html`<section class="screen detail" aria-labelledby="detail-title" data-status=${ext.status}>
    <p><a href="#/">← All extensions</a></p>
    <div class="screen__head">
      <div>
        <h1 id="detail-title" tabindex="-1" ref=${heading}>${ext.name}</h1>
        <p class="subtitle">${ext.version} · <${Badges} badges=${badgesOf(ext, pendingVersion)} /></p>
      </div>
      <div class="actions">
        <${EnableSwitch} ext=${ext} onDone=${refresh} />
        <${Uninstall} ext=${ext} />
      </div>
    </div>
    ${ext.description ? html`<p class="lead">${ext.description}</p>` : null}
    ${detail.suspension
      ? html`<div class="alert alert--danger" role="alert" id="suspension">
          <p class="alert__title">Suspended by the circuit breaker${detail.suspension.since ? html` since <${When} at=${detail.suspension.since} />` : null}.</p>
          <p>${detail.suspension.reason ? `Reason: ${detail.suspension.reason}.` : "It failed repeatedly."} Look at the recent errors below, then switch it on again to resume it.</p>
        </div>`
      : null}
    ${ext.status === "pending_approval" || detail.pendingUpdate ? html`<${Approval} detail=${detail} onDone=${refresh} />` : null}
    <div class="detail__grid">
      <section class="card" aria-labelledby="caps-title">
        <h2 id="caps-title">What it may do</h2>
        <${Capabilities} detail=${detail} />
      </section>
      <section class="card" aria-labelledby="facts-title">
        <h2 id="facts-title">About</h2>
        <${Facts} detail=${detail} />
      </section>
      <section class="card card--wide" aria-labelledby="points-title">
        <h2 id="points-title">Where it appears and who may reach it</h2>
        <${ExtensionPoints} review=${detail.review} />
      </section>
      <${Settings} ext=${ext} />
      <${Limits} ext=${ext} />
      <${RolesGrid} ext=${ext} review=${detail.review} />
      <${StorageUsage} ext=${ext} version=${version} />
      <${RecentErrors} ext=${ext} version=${version} />
      <${RecentLog} ext=${ext} version=${version} />
      <${RecentAudit} ext=${ext} version=${version} />
    </div>
  </section>`;
}
