// Words for what the API answers in codes: status badges, dates, sizes, audit actions and error codes.
import { html } from "./lib.js";

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** A `<time>` of an RFC 3339 instant, in the admin's locale; a dash when there is none. */
export function When({ at }) {
  if (!at) return "—";
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return at;
  return html`<time datetime=${at}>${dateTime.format(date)}</time>`;
}

/** Bytes as B, KiB, MiB or GiB with one decimal. */
export function bytes(count) {
  const units = ["B", "KiB", "MiB", "GiB"];
  let value = Number(count) || 0;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export const number = (value) => new Intl.NumberFormat().format(value);

/**
 * The badges of an extension: its lifecycle (enabled, disabled, pending approval, suspended,
 * failed) and "update pending" when a newer version waits for approval. `tone` picks the color.
 */
export function badgesOf(extension, pendingVersion) {
  const badges = [];
  switch (extension.status) {
    case "pending_approval":
      badges.push({ key: "pending", label: "Pending approval", tone: "warning" });
      break;
    case "suspended":
      badges.push({ key: "suspended", label: "Suspended", tone: "danger" });
      break;
    case "failed":
      badges.push({ key: "failed", label: "Failed", tone: "danger" });
      break;
    default:
      badges.push(extension.enabled ? { key: "enabled", label: "Enabled", tone: "success" } : { key: "disabled", label: "Disabled", tone: "neutral" });
  }
  if (pendingVersion) badges.push({ key: "update", label: `Update ${pendingVersion} pending`, tone: "info" });
  return badges;
}

/** What each badge means, for their titles and the docs. */
export const BADGE_HELP = {
  enabled: "Approved and switched on: users with its permissions can reach it.",
  disabled: "Approved but switched off: nothing of it runs until it is enabled.",
  pending: "Uploaded and checked; waits for an admin to review its permissions.",
  update: "A newer version was uploaded and waits for approval; the current one keeps serving.",
  suspended: "Switched off by the runtime's circuit breaker after repeated failures.",
  failed: "A lifecycle step failed; look at recent errors, then reinstall or uninstall it.",
};

export function Badges({ badges }) {
  return html`<span class="badges">${badges.map(
    (b) => html`<span class=${`badge badge--${b.tone}`} data-badge=${b.key} title=${BADGE_HELP[b.key]}>${b.label}</span>`,
  )}</span>`;
}

/** Rank of an extension for the "status" sort: what needs an admin first. */
export function statusRank(extension, pendingVersion) {
  const order = ["pending", "failed", "suspended", "update", "disabled", "enabled"];
  const keys = badgesOf(extension, pendingVersion).map((b) => b.key);
  return Math.min(...keys.map((k) => order.indexOf(k)));
}

const ACTIONS = {
  "extension.registered": "uploaded and registered",
  "extension.update_uploaded": "uploaded an update",
  "extension.update_discarded": "rejected an update",
  "extension.approved": "approved",
  "extension.enabled": "enabled",
  "extension.disabled": "disabled",
  "extension.uninstalled": "uninstalled",
  "extension.suspended": "suspended by the circuit breaker",
  "extension.settings_updated": "changed settings",
  "extension.settings_reset": "reset settings to defaults",
  "extension.limits_updated": "changed limits",
  "extension.hook_failed": "failed a lifecycle hook",
  "storage.imported": "imported storage",
  "storage.quota_warning": "passed 80% of its storage quota",
  "role.permission_granted": "granted a permission",
  "role.permission_revoked": "revoked a permission",
};

/** An audit action in words: the known ones translated, others shown as recorded. */
export const actionWords = (action) => ACTIONS[action] || action.replace(/^extension\./, "").replace(/[._]/g, " ");

const ERROR_CODES = {
  EXTENSION_CPU_LIMIT: "CPU time limit hit",
  EXTENSION_MEMORY_LIMIT: "Memory limit hit",
  EXTENSION_TIMEOUT: "Time limit hit",
  EXTENSION_ERROR: "Script error",
  EXTENSION_OVERLOADED: "Turned away: the runtime was overloaded",
  EXTENSION_SUSPENDED: "Suspended by the circuit breaker",
  WIDGET_TIMEOUT: "Dashboard widget too slow",
};

/** A recent error's code in words; unknown codes are shown as they are. */
export const errorWords = (code) => ERROR_CODES[code] || code;
