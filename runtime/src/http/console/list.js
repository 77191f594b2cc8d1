// The extension list: name, version, publisher and status badges, with a text filter, a status filter, sorting and paging.
import { api } from "./api.js";
import { BADGE_HELP, Badges, When, badgesOf, statusRank } from "./format.js";
import { html, useEffect, useMemo, useRef, useState } from "./lib.js";
import { usePage } from "./page.js";
import { ErrorNote, Loading } from "./problems.js";

const PAGE_SIZE = 50;

/** Status filter choices: the server filters lifecycle states; enabled, disabled and updates are narrowed here. */
const STATUS_FILTERS = [
  { value: "", label: "Any status" },
  { value: "enabled", label: "Enabled", server: "installed" },
  { value: "disabled", label: "Disabled", server: "installed" },
  { value: "pending", label: "Pending approval", server: "pending_approval" },
  { value: "update", label: "Update pending" },
  { value: "suspended", label: "Suspended", server: "suspended" },
  { value: "failed", label: "Failed", server: "failed" },
];

const SORTS = [
  { value: "name", label: "Name, A to Z" },
  { value: "-name", label: "Name, Z to A" },
  { value: "-createdAt", label: "Newest first" },
  { value: "createdAt", label: "Oldest first" },
  { value: "-updatedAt", label: "Recently changed" },
  { value: "status", label: "Status (needs attention first)" },
];

function Filters({ text, setText, status, setStatus, sort, setSort }) {
  return html`<form class="filters" role="search" onSubmit=${(e) => e.preventDefault()}>
    <div class="field">
      <label for="filter-text">Name or id contains</label>
      <input id="filter-text" type="search" value=${text} onInput=${(e) => setText(e.currentTarget.value)} autocomplete="off" />
    </div>
    <div class="field">
      <label for="filter-status">Status</label>
      <select id="filter-status" value=${status} onChange=${(e) => setStatus(e.currentTarget.value)}>
        ${STATUS_FILTERS.map((s) => html`<option value=${s.value}>${s.label}</option>`)}
      </select>
    </div>
    <div class="field">
      <label for="sort">Sort by</label>
      <select id="sort" value=${sort} onChange=${(e) => setSort(e.currentTarget.value)}>
        ${SORTS.map((s) => html`<option value=${s.value}>${s.label}</option>`)}
      </select>
    </div>
  </form>`;
}

function Empty({ filtered, clear }) {
  if (filtered) {
    return html`<div class="empty card" id="empty">
      <p>No extension matches these filters.</p>
      <button type="button" class="button" onClick=${clear}>Clear the filters</button>
    </div>`;
  }
  return html`<div class="empty card" id="empty">
    <h2>No extensions installed yet</h2>
    <p>Install the first one from a bundle file (<code>.zip</code> or <code>.tar.gz</code>):</p>
    <p><a class="button button--primary" href="#/install">Install an extension</a></p>
    <p>Or from a terminal, with a sample from the repository:</p>
    <pre><code>alga-ext pack samples/ticket-tags -o ticket-tags.zip
alga-ext install ticket-tags.zip --url ${location.origin} --token "$TOKEN" --enable</code></pre>
  </div>`;
}

function Rows({ extensions }) {
  return html`<table class="table list-table" id="extensions">
    <caption class="visually-hidden">Installed extensions</caption>
    <thead>
      <tr><th scope="col">Name</th><th scope="col">Version</th><th scope="col">Publisher</th><th scope="col">Status</th><th scope="col">Changed</th></tr>
    </thead>
    <tbody>
      ${extensions.map(
        (ext) => html`<tr key=${ext.id} data-key=${ext.key}>
          <td data-label="Name">
            <a class="row-link" href=${`#/extensions/${encodeURIComponent(ext.key)}`}>${ext.name}</a>
            <span class="muted mono">${ext.key}</span>
          </td>
          <td data-label="Version">${ext.version}</td>
          <td data-label="Publisher">${(ext.manifest && ext.manifest.publisher) || "—"}</td>
          <td data-label="Status"><${Badges} badges=${badgesOf(ext, ext.pendingUpdate)} /></td>
          <td data-label="Changed"><${When} at=${ext.updatedAt} /></td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

export function List() {
  const heading = usePage("Extensions");
  const [text, setText] = useState("");
  const [query, setQuery] = useState("");
  const [status, setStatus] = useState("");
  const [sort, setSort] = useState("name");
  const [state, setState] = useState({ loading: true, extensions: [], next: null, error: null });
  const [reload, setReload] = useState(0);
  const debounce = useRef(null);

  // Typing waits a quarter second before asking the server again.
  useEffect(() => {
    clearTimeout(debounce.current);
    debounce.current = setTimeout(() => setQuery(text.trim()), 250);
    return () => clearTimeout(debounce.current);
  }, [text]);

  const filter = STATUS_FILTERS.find((s) => s.value === status) || STATUS_FILTERS[0];
  const load = async (cursor) => {
    const params = { limit: PAGE_SIZE, sort: sort === "status" ? "name" : sort, status: filter.server, name: query || undefined, cursor };
    return api("/admin/v1/extensions", { query: params });
  };

  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    load()
      .then((page) => live && setState({ loading: false, extensions: page.extensions, next: page.nextCursor, error: null }))
      .catch((error) => live && setState({ loading: false, extensions: [], next: null, error }));
    return () => {
      live = false;
    };
  }, [query, status, sort, reload]);

  const more = async () => {
    setState((s) => ({ ...s, loadingMore: true }));
    try {
      const page = await load(state.next);
      setState((s) => ({ ...s, loadingMore: false, extensions: [...s.extensions, ...page.extensions], next: page.nextCursor }));
    } catch (error) {
      setState((s) => ({ ...s, loadingMore: false, error }));
    }
  };

  // Narrowed here: enabled and disabled share the server's `installed`, an update is no status.
  const shown = useMemo(() => {
    let rows = state.extensions;
    if (status === "enabled") rows = rows.filter((e) => e.enabled);
    if (status === "disabled") rows = rows.filter((e) => !e.enabled);
    if (status === "update") rows = rows.filter((e) => e.pendingUpdate);
    if (sort === "status") rows = [...rows].sort((a, b) => statusRank(a, a.pendingUpdate) - statusRank(b, b.pendingUpdate) || a.name.localeCompare(b.name));
    return rows;
  }, [state.extensions, status, sort]);
  const filtered = Boolean(query || status);
  const clear = () => {
    setText("");
    setQuery("");
    setStatus("");
  };

  return html`<section class="screen" aria-labelledby="list-title">
    <div class="screen__head">
      <h1 id="list-title" tabindex="-1" ref=${heading}>Extensions</h1>
      <a class="button button--primary" href="#/install" id="install-button">Install an extension</a>
    </div>
    <${Filters} ...${{ text, setText, status, setStatus, sort, setSort }} />
    <p class="visually-hidden" role="status">${state.loading ? "" : `${shown.length} extension${shown.length === 1 ? "" : "s"} shown`}</p>
    ${state.error ? html`<${ErrorNote} error=${state.error} title="The list could not be loaded." />` : null}
    ${state.error ? html`<button type="button" class="button" onClick=${() => setReload((n) => n + 1)}>Try again</button>` : null}
    ${state.loading && !state.extensions.length ? html`<${Loading} what="extensions" />` : null}
    ${!state.loading && !state.error && !shown.length ? html`<${Empty} filtered=${filtered} clear=${clear} />` : null}
    ${shown.length ? html`<${Rows} extensions=${shown} />` : null}
    ${state.next
      ? html`<button type="button" class="button" onClick=${more} disabled=${state.loadingMore}>${state.loadingMore ? "Loading…" : "Show more"}</button>`
      : null}
    <details class="legend">
      <summary>What the badges mean</summary>
      <dl>
        ${[["enabled", "Enabled"], ["disabled", "Disabled"], ["pending", "Pending approval"], ["update", "Update pending"], ["suspended", "Suspended"], ["failed", "Failed"]].map(
          ([key, label]) => html`<dt>${label}</dt><dd>${BADGE_HELP[key]}</dd>`,
        )}
      </dl>
    </details>
  </section>`;
}
