// The sign-in screen: paste a token (exchanged once for the session cookie), or use the one-time link `serve --dev` prints.
import { signIn } from "./api.js";
import { html, useState } from "./lib.js";
import { usePage } from "./page.js";

const MINT = "alga-ext token --tenant acme --user alice --roles admin";

/** Why a failed sign-in failed, in words an admin can act on. */
function reasonOf(err) {
  if (err.status === 403) return `The runtime refused this user: ${err.message.replace(/\.$/, "")}. Sign in as a user whose roles may manage extensions (an admin).`;
  if (err.status === 401) return `The runtime refused this token: ${err.message}`;
  return err.message;
}

export function SignIn({ linkError, onSignedIn }) {
  const heading = usePage("Sign in");
  const [token, setToken] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  // The spent link's notice stays until the admin tries a token: then the token's own
  // answer is the one that matters, and two warnings side by side confuse.
  const [linkNotice, setLinkNotice] = useState(Boolean(linkError));

  const submit = async (event) => {
    event.preventDefault();
    setLinkNotice(false);
    const pasted = token.trim().replace(/^Bearer\s+/i, "");
    if (!pasted) {
      setError("Paste a token first.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const who = await signIn(pasted);
      // The token has done its job: it is not kept, not even in the form.
      setToken("");
      onSignedIn(who);
    } catch (err) {
      setError(reasonOf(err));
      setBusy(false);
    }
  };

  return html`<section class="signin card" aria-labelledby="signin-title">
    <h1 id="signin-title" tabindex="-1" ref=${heading}>Sign in to the admin console</h1>
    ${linkNotice
      ? html`<div class="alert alert--warning" role="alert" id="link-error">
          <p class="alert__title">This sign-in link has already been used or has expired.</p>
          <p>Each link works once, for 15 minutes. Restart <code>alga-ext serve --dev</code> for a new one,
            or sign in with a token below: mint one with <code>${MINT}</code> and paste it.</p>
        </div>`
      : null}
    <form onSubmit=${submit} novalidate>
      <label for="token">Access token</label>
      <textarea id="token" name="token" rows="4" spellcheck="false" autocomplete="off" autocapitalize="off"
        aria-describedby="token-help${error ? " token-error" : ""}" aria-invalid=${error ? "true" : undefined}
        value=${token} onInput=${(e) => setToken(e.currentTarget.value)} placeholder="eyJhbGciOiJIUzI1NiIs…"></textarea>
      <p id="token-help" class="help">A JWT of a user who may manage extensions. It is sent once to sign you in and
        never stored in the browser; the session lives in an HttpOnly cookie.</p>
      ${error ? html`<p id="token-error" class="field-error" role="alert">${error}</p>` : null}
      <button type="submit" class="button button--primary" disabled=${busy}>${busy ? "Signing in…" : "Sign in"}</button>
    </form>
    <h2>Other ways in</h2>
    <ul class="plain">
      <li>In development, <code>alga-ext serve --dev</code> prints a one-time link,${" "}
        <code>Admin console: http://…/admin/login?code=…</code>. Open it to sign in as <code>alice</code> (admin).</li>
      <li>Mint a token with <code>${MINT}</code> (the runtime's JWT secret in <code>ALGA_EXT_JWT_SECRET</code>).</li>
    </ul>
  </section>`;
}
