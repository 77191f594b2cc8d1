//! The demo host shell's script: signs in with a pasted token and shows the user's extensions through the Host SDK only.
//
// The runtime replaces __SDK_BASE__ with this build's SDK URL (`/ext-ui/_sdk/<version>`), so the
// shell always runs the SDK the binary ships. Routing is in the fragment (`#/extensions/<key><path>`,
// the links the SDK renders), so opening a page never reloads the shell.
import { createHost } from "__SDK_BASE__/alga-host.js";

const TOKEN_KEY = "alga-demo-token";
const $ = (id) => document.getElementById(id);
const host = createHost({
  getToken: () => sessionStorage.getItem(TOKEN_KEY),
  themeTokens: { "--alga-primary": "rgb(37, 99, 235)", "--alga-bg": "rgb(255, 255, 255)" },
});
let items = [];
let current = null;

/** Sends the user to the sign-in form, saying why when there is a reason. */
function showSignIn(reason) {
  for (const id of ["home", "page-area"]) $(id).hidden = true;
  $("signin").hidden = false;
  $("sign-out").hidden = true;
  $("who").textContent = "Not signed in";
  $("nav").replaceChildren();
  $("token-error").hidden = !reason;
  $("token-error").textContent = reason || "";
}

/** Loads who the user is and their navigation; a bad token goes back to the form. */
async function signIn() {
  let me;
  try {
    me = await host.request("/v1/me");
  } catch (err) {
    sessionStorage.removeItem(TOKEN_KEY);
    host.session = null;
    showSignIn(`The runtime refused the token (${err.code}): ${err.message}`);
    return;
  }
  $("signin").hidden = true;
  $("sign-out").hidden = false;
  $("who").textContent = `${me.user || me.sub} @ ${me.tenant}${me.roles && me.roles.length ? ` (${me.roles.join(", ")})` : ""}`;
  const nav = await host.renderNavigation($("nav"), { onSelect: (item) => (location.hash = linkOf(item)) });
  items = nav.items;
  if (!items.length && !nav.error) {
    $("nav").innerHTML = "";
    const empty = document.createElement("p");
    empty.className = "empty";
    empty.textContent = "No extension pages for this user.";
    $("nav").appendChild(empty);
  }
  route();
}

function linkOf(item) {
  return `#/extensions/${encodeURIComponent(item.extensionKey)}${item.path}`;
}

/** Shows what the fragment names: the dashboard, or an extension's page in the page area. */
async function route() {
  if (!sessionStorage.getItem(TOKEN_KEY)) return showSignIn();
  const match = /^#\/extensions\/([^/]+)(\/.*)?$/.exec(location.hash);
  for (const link of document.querySelectorAll("nav a")) {
    link.toggleAttribute("aria-current", link.getAttribute("href") === (match ? location.hash : "#/"));
    if (link.hasAttribute("aria-current")) link.setAttribute("aria-current", "page");
  }
  if (!match) {
    if (current) current.destroy();
    current = null;
    $("page-area").hidden = true;
    $("home").hidden = false;
    await host.renderDashboard($("dashboard"));
    if (!$("dashboard").children.length) $("dashboard").innerHTML = '<p class="empty">No dashboard widgets for this user.</p>';
    return;
  }
  const key = decodeURIComponent(match[1]);
  const path = match[2] || "/";
  const ofExtension = items.filter((i) => i.extensionKey === key || i.extensionId === key);
  const item = ofExtension.find((i) => i.path === path) || ofExtension[0];
  $("home").hidden = true;
  host.clear($("dashboard"));
  $("page-area").hidden = false;
  $("page-title").textContent = item && item.path === path ? item.label : `${key} ${path}`;
  const extensionId = item ? item.extensionId : key;
  if (current && current.extensionId === extensionId && current.path === path) return;
  if (current) current.destroy();
  // A page's own `navigate` message moves the fragment; the hash change opens the new path.
  current = host.mountPage($("page"), {
    extensionId,
    path,
    onNavigate: (next) => (location.hash = `#/extensions/${encodeURIComponent(key)}${next}`),
  });
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token").value.trim().replace(/^Bearer\s+/i, "");
  if (!token) return showSignIn("Paste a token first.");
  sessionStorage.setItem(TOKEN_KEY, token);
  $("token").value = "";
  host.session = null;
  signIn();
});
$("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  if (current) current.destroy();
  current = null;
  host.clear($("dashboard"));
  showSignIn();
});
window.addEventListener("hashchange", route);

if (sessionStorage.getItem(TOKEN_KEY)) signIn();
else showSignIn();
document.body.dataset.ready = "1";
