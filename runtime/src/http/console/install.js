// The install flow in four steps: choose or drop a bundle (uploaded with progress), its validation, the permission review, confirm; then done.
//
// Uploading a bundle already records it (the runtime checks a bundle by recording it): a
// pending install, or a pending update of an installed extension. So leaving the flow before
// step 4's approval, by Cancel, another screen or closing the tab, removes what the upload
// recorded (uninstalls the pending install, rejects the pending update): an abandoned upload
// leaves nothing behind.
import { ExtensionPoints } from "./access.js";
import { api, extensionPath, uploadBundle } from "./api.js";
import { PermissionDiff } from "./detail.js";
import { html, useEffect, useRef, useState } from "./lib.js";
import { usePage } from "./page.js";
import { ErrorNote, problemsOf } from "./problems.js";
import { notify } from "./toasts.js";

const STEPS = ["Choose a bundle", "Validation", "Permissions", "Confirm"];

/**
 * Removes what this flow's upload recorded: a new install is uninstalled (with the nothing it
 * stored), an update rejected. `keepalive` lets the request finish while the page unloads.
 */
function discard({ extension, kind }, keepalive = false) {
  const url = kind === "update" ? extensionPath(extension.id, "/pending") : `${extensionPath(extension.id)}?purge=true`;
  if (keepalive) return fetch(url, { method: "DELETE", credentials: "same-origin", headers: { "X-Alga-Console": "1" }, keepalive: true });
  return api(url, { method: "DELETE" });
}

function Steps({ step }) {
  return html`<div class="steps-head">
    <p class="steps__count" id="step-count">Step ${step} of ${STEPS.length}</p>
    <ol class="steps" aria-label="Install steps">
      ${STEPS.map((label, i) => html`<li class=${i + 1 < step ? "done" : i + 1 === step ? "current" : ""} aria-current=${i + 1 === step ? "step" : undefined}>${label}</li>`)}
    </ol>
  </div>`;
}

function Choose({ onFile, upload, onAbort }) {
  const [over, setOver] = useState(false);
  const pick = (files) => files && files.length && onFile(files[0]);
  if (upload) {
    const percent = upload.total ? Math.round((upload.sent / upload.total) * 100) : 0;
    return html`<div class="upload" id="upload-progress">
      <label for="progress">${percent < 100 ? `Uploading ${upload.name}…` : `Checking ${upload.name}…`}</label>
      <progress id="progress" max="100" value=${percent < 100 ? percent : undefined}>${percent}%</progress>
      <p class="muted" role="status">${percent < 100 ? `${percent}% sent` : "Sent; the runtime is checking the manifest and every module."}</p>
      <button type="button" class="button" onClick=${onAbort}>Cancel the upload</button>
    </div>`;
  }
  return html`<div class=${`dropzone${over ? " dropzone--over" : ""}`} id="dropzone"
      onDragOver=${(e) => { e.preventDefault(); setOver(true); }} onDragLeave=${() => setOver(false)}
      onDrop=${(e) => { e.preventDefault(); setOver(false); pick(e.dataTransfer.files); }}>
    <label for="bundle-file">Bundle file (<code>.zip</code> or <code>.tar.gz</code>, as <code>alga-ext pack</code> writes it)</label>
    <input type="file" id="bundle-file" accept=".zip,.tar.gz,.tgz,application/zip,application/gzip" onChange=${(e) => pick(e.currentTarget.files)} />
    <p class="muted">or drop the file here.</p>
  </div>`;
}

function Validation({ result, file, onRetry, onNext }) {
  if (result.error) {
    return html`<div id="validation-failed">
      <${ErrorNote} error=${result.error} title=${`${file} cannot be installed.`} where="manifest.json" />
      <p>Fix the bundle (run <code>alga-ext validate</code> on it for the same checks), then choose it again.</p>
      <div class="actions"><button type="button" class="button button--primary" id="choose-another" onClick=${onRetry}>Choose another file</button></div>
    </div>`;
  }
  const o = result.outcome;
  const m = o.manifest;
  const kind = {
    installed: `A new extension for this tenant.`,
    update: `An update of the installed ${o.extension.name} from ${o.extension.version} to ${m.version}.`,
    unchanged: `This exact bundle was uploaded before: nothing new was recorded.`,
  }[o.kind];
  return html`<div id="validation-ok">
    <div class="alert alert--success" role="status"><p class="alert__title">${file} is a valid bundle.</p><p>${kind}</p></div>
    <dl class="facts">
      <dt>Name</dt><dd>${m.name}</dd>
      <dt>Id</dt><dd class="mono">${m.id}</dd>
      <dt>Version</dt><dd>${m.version}</dd>
      <dt>Publisher</dt><dd>${m.publisher || "—"}</dd>
      <dt>Description</dt><dd>${m.description || "—"}</dd>
    </dl>
    ${o.warnings.length ? html`<div class="alert alert--warning"><p>Warnings:</p><ul>${o.warnings.map((w) => html`<li>${w}</li>`)}</ul></div>` : null}
    <div class="actions"><button type="button" class="button button--primary" id="next" onClick=${onNext}>Review its permissions</button></div>
  </div>`;
}

function Review({ outcome, onNext, onBack }) {
  const described = new Map(outcome.review.capabilities.map((c) => [c.capability, c.description]));
  return html`<div id="review">
    <h3>Capabilities it asks for</h3>
    ${outcome.kind === "update"
      ? html`<${PermissionDiff} diff=${outcome.permissionDiff} described=${described} />`
      : outcome.review.capabilities.length
        ? html`<ul class="capabilities">${outcome.review.capabilities.map(
            (c) => html`<li data-capability=${c.capability}>
              <span class="badge badge--warning">Requested</span>
              <span>May <strong>${c.description}</strong> <code class="muted">${c.capability}</code></span>
            </li>`,
          )}</ul>`
        : html`<p>None: it cannot read storage or call the host app.</p>`}
    ${outcome.review.userPermissions.length
      ? html`<h3>Permissions it defines for your users</h3>
          <ul>${outcome.review.userPermissions.map(
            (u) => html`<li><code>${u.permission.slice(u.permission.lastIndexOf(":") + 1)}</code> — ${u.description}; given to ${
              u.defaultRoles.length ? u.defaultRoles.join(", ") : "no role"} at first (change it later on its page).</li>`,
          )}</ul>`
      : null}
    <h3>Where it appears</h3>
    <${ExtensionPoints} review=${outcome.review} />
    <div class="actions">
      <button type="button" class="button" onClick=${onBack}>Back</button>
      <button type="button" class="button button--primary" id="next" onClick=${onNext}>Continue</button>
    </div>
  </div>`;
}

function Confirm({ outcome, enable, setEnable, busy, error, onConfirm, onBack }) {
  const ext = outcome.extension;
  const stays = outcome.kind === "update" && ext.enabled;
  return html`<div id="confirm">
    <p>${outcome.kind === "update" ? `Approve ${ext.name} ${outcome.manifest.version}` : `Install ${outcome.manifest.name} ${outcome.manifest.version}`},
      granting the ${outcome.requestedPermissions.length} capabilit${outcome.requestedPermissions.length === 1 ? "y" : "ies"} it asks for.</p>
    ${stays
      ? html`<p>It is enabled now and stays enabled on the new version.</p>`
      : html`<label class="check"><input type="checkbox" id="enable-now" checked=${enable} onChange=${(e) => setEnable(e.currentTarget.checked)} /> Enable it now</label>`}
    <${ErrorNote} error=${error} title="The approval failed." />
    <div class="actions">
      <button type="button" class="button" onClick=${onBack}>Back</button>
      <button type="button" class="button button--primary" id="confirm-install" onClick=${onConfirm} disabled=${busy}>
        ${busy ? "Approving…" : outcome.kind === "update" ? "Approve the update" : "Approve and install"}
      </button>
    </div>
  </div>`;
}

export function Install() {
  const heading = usePage("Install an extension");
  const [step, setStep] = useState(1);
  const [file, setFile] = useState(null);
  const [upload, setUpload] = useState(null);
  const [result, setResult] = useState(null);
  const [enable, setEnable] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [done, setDone] = useState(null);
  const stepHeading = useRef(null);
  const xhr = useRef(null);
  // What a departure must undo: the pending install or update this flow uploaded, until approved.
  const created = useRef(null);
  const mounted = useRef(false);

  useEffect(() => {
    const leave = () => created.current && discard(created.current, true);
    window.addEventListener("pagehide", leave);
    return () => {
      window.removeEventListener("pagehide", leave);
      if (xhr.current) xhr.current.abort();
      if (created.current) {
        const upload = created.current;
        const name = upload.extension.name;
        discard(upload).then(
          () => notify(`The install of ${name} was left unfinished, so its upload was removed.`),
          (err) => notify(`The unfinished upload of ${name} could not be removed: ${err.message}`, "error"),
        );
      }
    };
  }, []);
  // Each new step (not the first screen, whose page heading has focus) takes focus to its heading.
  useEffect(() => {
    if (mounted.current && stepHeading.current) stepHeading.current.focus();
    mounted.current = true;
  }, [step, done]);

  const onFile = async (chosen) => {
    setFile(chosen.name);
    setUpload({ name: chosen.name, sent: 0, total: chosen.size });
    const started = uploadBundle(chosen, (sent, total) => setUpload({ name: chosen.name, sent, total }));
    xhr.current = started;
    try {
      const outcome = await started.promise;
      if (outcome.kind !== "unchanged") created.current = { extension: outcome.extension, kind: outcome.kind };
      setEnable(true);
      setResult({ outcome });
    } catch (err) {
      if (err.code === "ABORTED") {
        setUpload(null);
        notify("Upload cancelled.");
        return;
      }
      setResult({ error: err });
      const count = problemsOf(err).length;
      notify(`${chosen.name} cannot be installed${count ? `: ${count === 1 ? "1 problem" : `${count} problems`}, listed in step 2` : `: ${err.message}`}.`, "error");
    } finally {
      xhr.current = null;
    }
    setUpload(null);
    setStep(2);
  };

  const restart = () => {
    setResult(null);
    setFile(null);
    setStep(1);
  };

  const cancel = async () => {
    const upload = created.current;
    created.current = null;
    if (upload) {
      const { extension, kind } = upload;
      try {
        await discard(upload);
        notify(kind === "update" ? `Install cancelled: the uploaded update was rejected; ${extension.name} ${extension.version} keeps serving.` : `Install cancelled: the uploaded ${extension.name} was removed.`);
      } catch (err) {
        notify(`The upload of ${extension.name} could not be removed: ${err.message}. Remove it from its page.`, "error");
      }
    } else notify("Install cancelled.");
    location.hash = "#/";
  };

  const confirm = async () => {
    const o = result.outcome;
    setBusy(true);
    setError(null);
    try {
      const approved = await api(extensionPath(o.extension.id, "/approve"), { method: "POST", body: { enable } });
      created.current = null;
      setDone(approved.extension);
      notify(`${approved.extension.name} ${approved.extension.version} is installed${approved.extension.enabled ? " and enabled" : ""}.`);
    } catch (err) {
      setError(err);
      notify(`Approval failed: ${err.message}`, "error");
    } finally {
      setBusy(false);
    }
  };

  let body;
  if (done) {
    body = html`<div id="install-done">
      <h2 tabindex="-1" ref=${stepHeading}>${done.name} ${done.version} is installed</h2>
      <p>${done.enabled ? "It is enabled: users whose roles hold its permissions see it now." : "It is approved but disabled; enable it on its page when you are ready."}</p>
      <div class="actions">
        <a class="button button--primary" id="open-detail" href=${`#/extensions/${encodeURIComponent(done.key)}`}>Open ${done.name}</a>
        <a class="button" href="#/">Back to the list</a>
      </div>
    </div>`;
  } else {
    const o = result && result.outcome;
    const unchangedDone = o && o.kind === "unchanged" && o.extension.status !== "pending_approval";
    body = html`<${Steps} step=${step} />
      <h2 tabindex="-1" ref=${stepHeading} id="step-title">${STEPS[step - 1]}</h2>
      ${step === 1 ? html`<${Choose} onFile=${onFile} upload=${upload} onAbort=${() => xhr.current && xhr.current.abort()} />` : null}
      ${step === 2 && unchangedDone
        ? html`<div class="alert alert--success" role="status"><p>${file} is already installed as ${o.extension.name} ${o.extension.version}; nothing changed.</p></div>
            <p><a class="button button--primary" href=${`#/extensions/${encodeURIComponent(o.extension.key)}`}>Open ${o.extension.name}</a></p>`
        : null}
      ${step === 2 && !unchangedDone ? html`<${Validation} result=${result} file=${file} onRetry=${restart} onNext=${() => setStep(3)} />` : null}
      ${step === 3 ? html`<${Review} outcome=${o} onNext=${() => setStep(4)} onBack=${() => setStep(2)} />` : null}
      ${step === 4 ? html`<${Confirm} ...${{ outcome: o, enable, setEnable, busy, error, onConfirm: confirm, onBack: () => setStep(3) }} />` : null}
      ${upload ? null : html`<p class="cancel"><button type="button" class="button button--ghost" id="cancel-install" onClick=${cancel}>Cancel the install</button></p>`}`;
  }
  return html`<section class="screen install" aria-labelledby="install-title">
    <p><a href="#/">← All extensions</a></p>
    <h1 id="install-title" tabindex="-1" ref=${heading}>Install an extension</h1>
    <div class="card">${body}</div>
  </section>`;
}
