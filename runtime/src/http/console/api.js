// The console's calls to the runtime: the session endpoints and /admin/v1, with errors turned into ApiError.
//
// Every call rides on the HttpOnly session cookie (`credentials: "same-origin"`) and carries
// `X-Alga-Console: 1`, which the runtime requires of cookie-authenticated requests so that a
// form on another site cannot act with the admin's cookie. No token is ever kept here: the
// pasted one is POSTed once to /admin/session and dropped.

/** The CSRF header every console request carries. */
const CONSOLE_HEADER = { "X-Alga-Console": "1" };

/** A refused or failed call, with the runtime's stable code, its message and its details. */
export class ApiError extends Error {
  constructor(status, code, message, details = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

let sessionEnded = () => {};

/** Registers what to do when an admin call answers 401: the session expired or was ended. */
export function onSessionEnded(handler) {
  sessionEnded = handler;
}

const unreachable = () =>
  new ApiError(0, "NETWORK", "The runtime could not be reached. Check that `alga-ext serve` is still running, then try again.");

/** The error a non-2xx answer stands for: the API's `{error: {code, message, details}}`, or its status in words. */
function errorOf(status, statusText, text) {
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch (_) {
    // Not JSON (a proxy's page): the status line says what happened.
  }
  const error = body && body.error;
  if (error && typeof error.message === "string") return new ApiError(status, error.code || `HTTP_${status}`, error.message, error.details ?? null);
  return new ApiError(status, `HTTP_${status}`, `The runtime answered ${status}${statusText ? ` ${statusText}` : ""}.`);
}

/** Calls the runtime; answers the parsed JSON body (null for 204) or throws an ApiError. */
export async function api(path, { method = "GET", body, query } = {}) {
  const url = query ? `${path}?${new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== ""))}` : path;
  const headers = { ...CONSOLE_HEADER };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, credentials: "same-origin", headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (_) {
    throw unreachable();
  }
  const text = await response.text();
  if (!response.ok) {
    const error = errorOf(response.status, response.statusText, text);
    if (response.status === 401 && path.startsWith("/admin/v1/")) sessionEnded(error);
    throw error;
  }
  if (response.status === 204 || !text) return null;
  return JSON.parse(text);
}

/** The signed-in admin (`{tenant, user, roles, expiresAt}`), or null without a session. */
export async function currentSession() {
  try {
    return await api("/admin/session");
  } catch (err) {
    if (err.status === 401) return null;
    throw err;
  }
}

/** Exchanges a pasted token for the session cookie; the token is not kept anywhere. */
export const signIn = (token) => api("/admin/session", { method: "POST", body: { token } });

export const signOut = () => api("/admin/session", { method: "DELETE" });

/** `/admin/v1/extensions/<id or key><rest>`, the id encoded. */
export const extensionPath = (id, rest = "") => `/admin/v1/extensions/${encodeURIComponent(id)}${rest}`;

/**
 * Uploads a bundle as multipart field `bundle`, reporting `onProgress(sentBytes, totalBytes)`.
 * XMLHttpRequest rather than fetch: only it reports upload progress. Answers `{promise, abort}`.
 */
export function uploadBundle(file, onProgress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open("POST", "/admin/v1/extensions");
    xhr.setRequestHeader("X-Alga-Console", "1");
    xhr.upload.addEventListener("progress", (event) => onProgress(event.loaded, event.lengthComputable ? event.total : file.size));
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText));
        } catch (_) {
          reject(new ApiError(xhr.status, "BAD_ANSWER", "The runtime's answer to the upload was not JSON."));
        }
        return;
      }
      const error = errorOf(xhr.status, xhr.statusText, xhr.responseText);
      if (xhr.status === 401) sessionEnded(error);
      reject(error);
    });
    xhr.addEventListener("error", () => reject(unreachable()));
    xhr.addEventListener("abort", () => reject(new ApiError(0, "ABORTED", "The upload was cancelled.")));
    const form = new FormData();
    form.append("bundle", file, file.name);
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}
