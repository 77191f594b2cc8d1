// Who reaches what: the extension points with the permission each needs, and the roles × permissions grid with grant and revoke.
import { api } from "./api.js";
import { html, useEffect, useState } from "./lib.js";
import { ErrorNote, Loading } from "./problems.js";
import { notify } from "./toasts.js";

const KINDS = [
  { kind: "page", title: "Pages", what: (p) => html`${p.title || p.path} <code>${p.path}</code>` },
  { kind: "navigation", title: "Navigation items", what: (p) => html`${p.label} <span class="muted">opens</span> <code>${p.page}</code>` },
  { kind: "dashboardWidget", title: "Dashboard widgets", what: (p) => html`${p.title} <code class="muted">${p.id}</code>` },
  { kind: "endpoint", title: "API endpoints", what: (p) => html`<code>${p.method} ${p.path}</code>` },
];

/** The short name of `<key>:<name>`, which is how the manifest names it. */
const shortName = (permission) => permission.slice(permission.lastIndexOf(":") + 1);

/** Every page, navigation item, widget and endpoint, each with who may reach it in words. */
export function ExtensionPoints({ review }) {
  if (!review) return html`<p class="muted">Its manifest could not be read back, so its extension points cannot be listed.</p>`;
  const described = new Map((review.userPermissions || []).map((u) => [u.permission, u.description]));
  const who = (p) =>
    p.permission
      ? html`Users whose role holds <strong>${shortName(p.permission)}</strong>${described.get(p.permission) ? ` (${described.get(p.permission)})` : ""}`
      : html`<strong>Every user</strong> of the tenant`;
  const groups = KINDS.map((k) => ({ ...k, points: review.extensionPoints.filter((p) => p.kind === k.kind) })).filter((g) => g.points.length);
  if (!groups.length) return html`<p class="muted">It declares no pages, navigation items, widgets or endpoints.</p>`;
  return html`<div class="points" id="extension-points">
    ${groups.map(
      (g) => html`<table class="table points__table">
        <caption>${g.title}</caption>
        <thead><tr><th scope="col">What</th><th scope="col">Who may reach it</th></tr></thead>
        <tbody>
          ${g.points.map((p) => html`<tr><td data-label="What">${g.what(p)}</td><td data-label="Who may reach it">${who(p)}</td></tr>`)}
        </tbody>
      </table>`,
    )}
  </div>`;
}

const roleUrl = (role, permission) => `/admin/v1/roles/${encodeURIComponent(role)}/permissions/${encodeURIComponent(permission)}`;

/** One checkbox of the grid: checking grants the permission to the role, unchecking revokes it. */
function Cell({ role, permission, held, onChanged }) {
  const [busy, setBusy] = useState(false);
  const name = shortName(permission.permission);
  const toggle = async () => {
    setBusy(true);
    try {
      await api(roleUrl(role, permission.permission), { method: held ? "DELETE" : "PUT" });
      notify(held ? `Role ${role} no longer holds ${name}.` : `Role ${role} now holds ${name}.`);
      await onChanged();
    } catch (err) {
      notify(`Could not ${held ? "revoke" : "grant"} ${name} ${held ? "from" : "to"} ${role}: ${err.message}`, "error");
    } finally {
      setBusy(false);
    }
  };
  return html`<td data-label=${name}>
    <input type="checkbox" checked=${held} disabled=${busy} onChange=${toggle} data-role=${role} data-permission=${permission.permission}
      aria-label=${`${role} may ${name}${permission.description ? ` (${permission.description})` : ""}`} />
  </td>`;
}

/** The roles × the extension's own user permissions, with a row for any other role the admin names. */
export function RolesGrid({ ext, review }) {
  const [state, setState] = useState({ loading: true, data: null, error: null });
  const [extra, setExtra] = useState([]);
  const [newRole, setNewRole] = useState("");
  const load = () =>
    api("/admin/v1/roles")
      .then((data) => setState({ loading: false, data, error: null }))
      .catch((error) => setState({ loading: false, data: null, error }));
  // Approval registers the permissions an install or update defines: read them again then.
  useEffect(() => {
    load();
  }, [ext.id, ext.version, ext.status]);

  let body;
  if (state.loading) body = html`<${Loading} what="roles" />`;
  else if (state.error) body = html`<${ErrorNote} error=${state.error} title="The roles could not be loaded." />`;
  else {
    const permissions = state.data.permissions.filter((p) => p.extension && p.extension.id === ext.id);
    if (!permissions.length) {
      const declared = (review && review.userPermissions) || [];
      body = declared.length
        ? html`<p class="muted">Its user permissions (${declared.map((u) => shortName(u.permission)).join(", ")}) are registered when it is approved; grant them here then.</p>`
        : html`<p class="muted">It defines no permissions of its own: nothing to grant.</p>`;
    } else {
      const roles = [...new Set([...state.data.roles.map((r) => r.name), ...permissions.flatMap((p) => p.roles), ...extra])].sort();
      body = html`<div class="table-scroll"><table class="table grid" id="roles-grid">
        <caption class="visually-hidden">Roles and the permissions of ${ext.name} they hold</caption>
        <thead><tr><th scope="col">Role</th>${permissions.map(
          (p) => html`<th scope="col"><span>${shortName(p.permission)}</span><span class="muted small">${p.description}</span></th>`,
        )}</tr></thead>
        <tbody>
          ${roles.map(
            (role) => html`<tr data-role=${role}><th scope="row">${role}</th>${permissions.map(
              (p) => html`<${Cell} role=${role} permission=${p} held=${p.roles.includes(role)} onChanged=${load} />`,
            )}</tr>`,
          )}
        </tbody>
      </table></div>
      <form class="inline-form" onSubmit=${(e) => {
        e.preventDefault();
        const role = newRole.trim();
        if (!role) return notify("Type a role name first.", "error");
        setExtra((now) => [...new Set([...now, role])]);
        setNewRole("");
        notify(`Role ${role} is in the grid: check a box to grant it a permission.`);
      }}>
        <label for="new-role">Another role</label>
        <input id="new-role" value=${newRole} onInput=${(e) => setNewRole(e.currentTarget.value)} autocomplete="off" placeholder="e.g. dispatcher" />
        <button type="submit" class="button">Add a row</button>
      </form>`;
    }
  }
  return html`<section class="card card--wide" aria-labelledby="roles-title" id="roles">
    <h2 id="roles-title">Roles and its permissions</h2>
    <p class="help">Which users may reach its pages and endpoints: a checked box grants the permission to every user with that role.
      Changes apply at once, in this tenant only.</p>
    ${body}
  </section>`;
}
