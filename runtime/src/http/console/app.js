// The admin console's entry: the session, the hash router (#/, #/install, #/extensions/<key>, #/signin), the header and the theme.
//
// Routing lives in the fragment because the server serves index.html at /admin only (no
// fallback for deep paths), and a fragment change never reloads the page.
import { currentSession, onSessionEnded, signOut } from "./api.js";
import { Detail } from "./detail.js";
import { Install } from "./install.js";
import { html, render, useCallback, useEffect, useState } from "./lib.js";
import { List } from "./list.js";
import { SignIn } from "./signin.js";
import { Toasts, notify } from "./toasts.js";

/** Only the theme choice is remembered; never anything about the session. */
const THEME_KEY = "alga-console-theme";

function storedTheme() {
  try {
    const theme = localStorage.getItem(THEME_KEY);
    return theme === "light" || theme === "dark" ? theme : null;
  } catch (_) {
    return null;
  }
}

/** The theme in force: the admin's choice, else the system's. */
const systemDark = () => window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
const effectiveTheme = () => storedTheme() || (systemDark() ? "dark" : "light");

// Set before the first render, so the page never flashes the other theme.
if (storedTheme()) document.documentElement.dataset.theme = storedTheme();

/** `#/extensions/com.acme.x` → `{name: "detail", key}`; unknown fragments show the list. */
export function parseRoute(hash) {
  const [path, search = ""] = hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(search);
  const detail = /^\/extensions\/([^/]+)\/?$/.exec(path);
  if (detail) return { name: "detail", key: decodeURIComponent(detail[1]) };
  if (path === "/install") return { name: "install" };
  if (path === "/signin") return { name: "signin", error: params.get("error") };
  return { name: "list" };
}

function useRoute() {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const changed = () => setRoute(parseRoute(location.hash));
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return route;
}

function ThemeToggle() {
  const [theme, setTheme] = useState(effectiveTheme);
  const next = theme === "dark" ? "light" : "dark";
  const toggle = () => {
    document.documentElement.dataset.theme = next;
    try {
      localStorage.setItem(THEME_KEY, next);
    } catch (_) {
      // Private mode without storage: the choice lasts for this page only.
    }
    setTheme(next);
  };
  return html`<button type="button" class="button button--ghost" id="theme-toggle" aria-pressed=${theme === "dark"} onClick=${toggle}>
    Dark theme
  </button>`;
}

/** The skip link moves focus only: following "#main" would change the fragment, which is the route. */
function skip(event) {
  event.preventDefault();
  document.getElementById("main").focus();
}

function Header({ session, route, onSignOut }) {
  const current = (name) => (route.name === name ? "page" : undefined);
  return html`<header class="topbar">
    <a class="skip" href="#main" onClick=${skip}>Skip to content</a>
    <a class="brand" href="#/">Alga extensions <span>admin console</span></a>
    ${session
      ? html`<nav class="topnav" aria-label="Console">
          <a href="#/" aria-current=${current("list")}>Extensions</a>
          <a href="#/install" aria-current=${current("install")}>Install</a>
        </nav>`
      : null}
    <div class="topbar__end">
      ${session
        ? html`<span class="who" id="who" title=${`Roles: ${session.roles.join(", ")}. Signed in until ${new Date(session.expiresAt).toLocaleString()}.`}>${session.user} · ${session.tenant}</span>`
        : null}
      <${ThemeToggle} />
      ${session ? html`<button type="button" class="button button--ghost" id="sign-out" onClick=${onSignOut}>Sign out</button>` : null}
    </div>
  </header>`;
}

function Screen({ session, route, onSignedIn }) {
  if (session === undefined) return html`<p class="boot" role="status">Checking your session…</p>`;
  if (session === null) return html`<${SignIn} linkError=${route.name === "signin" ? route.error : null} onSignedIn=${onSignedIn} />`;
  switch (route.name) {
    case "detail":
      return html`<${Detail} key=${route.key} extensionKey=${route.key} />`;
    case "install":
      return html`<${Install} />`;
    default:
      return html`<${List} />`;
  }
}

function App() {
  const route = useRoute();
  // undefined while asking the runtime, null when signed out.
  const [session, setSession] = useState(undefined);
  const [bootError, setBootError] = useState(null);

  useEffect(() => {
    currentSession()
      .then((found) => {
        setSession(found);
        // A failed login link lands on #/signin?error=link; with a session still valid, say so and go on.
        if (found && route.name === "signin") {
          if (route.error) notify("That sign-in link was already used or has expired; you are still signed in.", "error");
          location.hash = "#/";
        }
      })
      .catch((err) => setBootError(err));
    // Several calls in flight may all be refused at once: say it once.
    onSessionEnded(() =>
      setSession((now) => {
        if (now) notify("Your session has ended. Sign in again to go on.", "error");
        return null;
      }),
    );
  }, []);

  const onSignedIn = useCallback((who) => {
    setSession(who);
    if (parseRoute(location.hash).name === "signin") location.hash = "#/";
    notify(`Signed in as ${who.user} (tenant ${who.tenant}).`);
  }, []);

  const onSignOut = useCallback(async () => {
    try {
      await signOut();
      setSession(null);
      location.hash = "#/";
      notify("Signed out.");
    } catch (err) {
      notify(`Could not sign out: ${err.message}`, "error");
    }
  }, []);

  return html`<div class="shell">
    <${Header} session=${session} route=${route} onSignOut=${onSignOut} />
    <main id="main" tabindex="-1">
      ${bootError
        ? html`<div class="alert alert--danger" role="alert"><p>The console could not start: ${bootError.message}</p></div>`
        : html`<${Screen} session=${session} route=${route} onSignedIn=${onSignedIn} />`}
    </main>
    <${Toasts} />
  </div>`;
}

const root = document.getElementById("app");
// The "Loading…" placeholder goes; Preact owns the container from here.
root.replaceChildren();
render(html`<${App} />`, root);
performance.mark("console-rendered");
