// The browser suite's checks of the admin console at /admin: sign-in, the install flow, the list, keyboard, theme, speed; run by run.mjs.
//
// The console gets a runtime of its own (fresh data, its own one-time login link), so its
// installs and uninstalls cannot disturb the host and demo checks, and its list starts empty.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { detailChecks } from "./console-detail-checks.mjs";
import { mintToken, packAndInstall, packBundle, repoRoot, startRuntime } from "./support.mjs";

const TAGS = "com.alga.samples.ticket-tags";
const RUNAWAY = "com.alga.tests.runaway";
const CONSOLE_DIR = join(repoRoot, "runtime/src/http/console");
// Screenshots land beside the suite's others; `ALGA_DOCS_SCREENSHOTS=1` writes them over the
// ones docs/admin-guide.md shows instead (they differ run to run, so a plain run must not
// leave the working tree modified).
const IMG_DIR = process.env.ALGA_DOCS_SCREENSHOTS === "1" ? join(repoRoot, "docs/img") : join(repoRoot, "js/test/output");

/** The link `serve --dev` printed to its log (stderr), waited for since the log is written as it starts. */
async function loginLink(runtime, waitFor) {
  return waitFor("the login link in serve.log", () => {
    const match = /Admin console: (http:\/\/\S+\/admin\/login\?code=\S+)/.exec(readFileSync(join(runtime.dir, "serve.log"), "utf8"));
    return match && match[1];
  });
}

/** A copy of ticket-tags with `change(manifest, dir)` applied, packed as .tar.gz by tar (alga-ext pack refuses broken bundles). */
function brokenBundle(runtime, name, change) {
  const dir = join(runtime.dir, name);
  cpSync(join(repoRoot, "samples/ticket-tags"), dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
  change(manifest, dir);
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest, null, 2));
  const archive = join(runtime.dir, `${name}.tar.gz`);
  const tar = spawnSync("tar", ["czf", archive, "-C", dir, "manifest.json", "src", "ui"], { encoding: "utf8" });
  if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
  return archive;
}

/** Every console script file with its size as served and gzip-compressed. */
function scriptSizes(dir = CONSOLE_DIR, prefix = "") {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return scriptSizes(path, `${prefix}${name}/`);
    if (!/\.m?js$/.test(name)) return [];
    const bytes = readFileSync(path);
    return [{ name: `${prefix}${name}`, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length }];
  });
}

/** Registers the console checks with the runner's `check`. */
export async function consoleChecks({ check, assert, waitFor, browser, hostOrigin, measured }) {
  let runtime;
  await check("console: a runtime of its own starts for the console checks", async () => {
    runtime = await startRuntime({ hostOrigin });
  });
  if (!runtime) return;
  mkdirSync(IMG_DIR, { recursive: true });
  const admin = mintToken(runtime.secret, { tenant: "acme", user: "alice", roles: ["admin"] });
  const technician = mintToken(runtime.secret, { tenant: "acme", user: "bob", roles: ["technician"] });
  const apiAs = async (path, init = {}) => {
    const response = await fetch(`${runtime.url}${path}`, { ...init, headers: { authorization: `Bearer ${admin}`, ...(init.headers || {}) } });
    return { status: response.status, body: response.status === 204 ? null : await response.json() };
  };
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "light" });
  const page = await context.newPage();
  const problems = [];
  const watch = (p) => {
    p.on("pageerror", (err) => problems.push(String(err)));
    // A refused request (401 before signing in, a 422 bundle) is logged by Chromium as a failed
    // resource load; that is the console working. Anything else, CSP violations included, is not.
    p.on("console", (m) => m.type() === "error" && !m.text().startsWith("Failed to load resource") && problems.push(m.text()));
  };
  watch(page);
  // Screenshots for docs/admin-guide.md. Notifications are dismissed first (as a user would) so
  // they cover nothing; the checks have already read them.
  const shot = async (name, target = page, options = {}) => {
    for (const close of await page.$$(".toast__close")) await close.click().catch(() => {});
    await target.screenshot({ path: join(IMG_DIR, `console-${name}.png`), ...options });
  };
  const toast = (text) => page.waitForSelector(`.toast:has-text(${JSON.stringify(text)})`);
  const ctx = { check, assert, waitFor, page, runtime, apiAs, shot, toast, admin, keys: { TAGS, RUNAWAY } };

  try {
    await check("console: the vendored Preact, hooks and htm are npm's files byte for byte, and served so", async () => {
      const pairs = [["preact.mjs", "preact/dist/preact.mjs"], ["hooks.mjs", "preact/hooks/dist/hooks.mjs"], ["htm.mjs", "htm/dist/htm.module.js"]];
      for (const [vendored, npm] of pairs) {
        const ours = readFileSync(join(CONSOLE_DIR, "vendor", vendored));
        const theirs = readFileSync(join(repoRoot, "js/node_modules", npm));
        assert(ours.equals(theirs), `vendor/${vendored} differs from js/node_modules/${npm}: copy it over`);
        const served = await (await fetch(`${runtime.url}/admin/vendor/${vendored}`)).text();
        const expected = vendored === "hooks.mjs" ? theirs.toString().replace('from"preact"', 'from"./preact.mjs"') : theirs.toString();
        assert(served === expected, `/admin/vendor/${vendored} is not npm's file (with only the hooks' import rewritten)`);
      }
    });

    await check("console: without a session it shows the sign-in screen, and a refused token's reason in words", async () => {
      await page.goto(`${runtime.url}/admin`);
      await page.waitForSelector("#token");
      await page.click("button[type=submit]");
      assert((await page.textContent("#token-error")) === "Paste a token first.", "an empty token is caught in the form");
      await page.fill("#token", "not-a-token");
      await page.click("button[type=submit]");
      await waitFor("the refusal", async () => (await page.textContent("#token-error")).includes("refused"));
      const refused = await page.textContent("#token-error");
      assert(!refused.includes("{") && (await page.getAttribute("#token", "aria-invalid")) === "true", `refusal: ${refused}`);
      await page.fill("#token", technician);
      await page.click("button[type=submit]");
      await waitFor("the technician's refusal", async () => (await page.textContent("#token-error")) !== refused);
      const forbidden = await page.textContent("#token-error");
      assert(/admin/i.test(forbidden), `a token without the right to manage extensions: ${forbidden}`);
      await page.fill("#token", "");
      await shot("signin");
    });

    await check("console: the serve --dev link signs in once; used again it lands on the sign-in screen saying why", async () => {
      const link = await loginLink(runtime, waitFor);
      await page.goto(link);
      await page.waitForSelector("#who");
      assert((await page.textContent("#who")) === "alice · acme", `signed in as ${await page.textContent("#who")}`);
      assert(new URL(page.url()).hash === "#/", `landed on ${page.url()}`);
      const other = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "dark" });
      const again = await other.newPage();
      await again.goto(link);
      await again.waitForSelector("#link-error");
      assert(new URL(again.url()).hash === "#/signin?error=link", `second use landed on ${again.url()}`);
      const said = await again.textContent("#link-error");
      assert(said.includes("already been used") && said.includes("alga-ext token --tenant acme"), `it says ${said}`);
      await shot("signin-link-used-dark", again);
      // Trying a token replaces the link's notice with the token's own answer.
      await again.fill("#token", "not-a-token");
      await again.click("form button[type=submit]");
      await again.waitForSelector("#token-error");
      assert((await again.locator("#link-error").count()) === 0, "the spent link's notice stays beside the token's error");
      await other.close();
    });

    await check("console: the session is an HttpOnly SameSite=Strict cookie and no token is in the page's storage", async () => {
      const cookie = (await context.cookies(`${runtime.url}/admin/`)).find((c) => c.name === "alga_console");
      assert(cookie && cookie.httpOnly && cookie.sameSite === "Strict" && cookie.path === "/admin", `cookie ${JSON.stringify(cookie)}`);
      const stored = await page.evaluate(async () => ({
        local: Object.keys(localStorage).map((k) => `${k}=${localStorage.getItem(k)}`),
        session: sessionStorage.length,
        cookie: document.cookie,
        // Without the console's header the cookie alone is refused (the CSRF rule).
        bare: (await fetch("/admin/v1/extensions", { credentials: "same-origin" })).status,
      }));
      assert(stored.session === 0 && stored.cookie === "" && !stored.local.some((v) => v.includes("eyJ")), `storage ${JSON.stringify(stored)}`);
      assert(stored.bare === 401, `a cookie-only request answered ${stored.bare}`);
    });

    await check("console: an empty tenant's list says how to install the first extension", async () => {
      await page.waitForSelector("#empty");
      const text = await page.textContent("#empty");
      assert(text.includes("No extensions installed yet") && text.includes("alga-ext install"), `empty state: ${text}`);
      assert((await page.locator("#empty a[href='#/install']").count()) === 1, "the empty state links to the install flow");
      await shot("empty");
    });

    await check("console: a broken bundle stops at step 2 with each problem at its field path or file:line", async () => {
      const badManifest = brokenBundle(runtime, "bad-manifest", (m) => {
        m.id = "com.alga.tests.broken";
        m.extensionPoints.pages[0].handler = "noSuchHandler";
      });
      const badModule = brokenBundle(runtime, "bad-module", (m, dir) => {
        m.id = "com.alga.tests.broken";
        writeFileSync(join(dir, "src/tags.js"), `${readFileSync(join(dir, "src/tags.js"), "utf8")}\nexport function broken( {\n`);
      });
      await page.click("#install-button");
      await page.setInputFiles("#bundle-file", badManifest);
      await page.waitForSelector("#validation-failed");
      const first = await page.textContent("#validation-failed .problems");
      assert(first.includes("manifest.json → extensionPoints.pages[0].handler") && first.includes("noSuchHandler"), `manifest problem: ${first}`);
      assert((await page.textContent("#step-count")) === "Step 2 of 4", "the refusal is step 2");
      await page.click("#choose-another");
      await page.setInputFiles("#bundle-file", badModule);
      await waitFor("the module problem", async () => ((await page.textContent("#validation-failed .problems").catch(() => "")) || "").includes("src/tags.js:"));
      await shot("install-invalid");
      const listed = await apiAs("/admin/v1/extensions");
      assert(listed.body.extensions.length === 0, "a refused bundle left an extension behind");
    });

    await check("console: cancelling after uploading a new extension uninstalls the pending upload", async () => {
      await page.click("#choose-another");
      await page.setInputFiles("#bundle-file", packBundle(runtime, join(repoRoot, "js/test/fixtures/runaway")));
      await page.waitForSelector("#validation-ok");
      assert((await apiAs(`/admin/v1/extensions/${RUNAWAY}`)).body.extension.status === "pending_approval", "the upload is pending");
      await page.click("#cancel-install");
      await toast("Install cancelled");
      assert((await apiAs(`/admin/v1/extensions/${RUNAWAY}`)).status === 404, "the cancelled upload is still installed");
      // Leaving the flow another way cancels too: another screen of the console, or closing the tab.
      const bundle = join(runtime.dir, "runaway.zip");
      await page.click("#install-button");
      await page.setInputFiles("#bundle-file", bundle);
      await page.waitForSelector("#validation-ok");
      await page.click(".topnav a[href='#/']");
      await toast("was left unfinished, so its upload was removed");
      assert((await apiAs(`/admin/v1/extensions/${RUNAWAY}`)).status === 404, "the abandoned upload is still installed");
      const tab = await page.context().newPage();
      await tab.goto(`${runtime.url}/admin/#/install`);
      await tab.setInputFiles("#bundle-file", bundle);
      await tab.waitForSelector("#validation-ok");
      await tab.close({ runBeforeUnload: true });
      await waitFor("the closed tab's upload to be removed", async () => (await apiAs(`/admin/v1/extensions/${RUNAWAY}`)).status === 404);
    });

    await check("console: installs samples/ticket-tags in 4 steps: choose, validation, permissions, confirm", async () => {
      const started = Date.now();
      const steps = [];
      const record = async () => steps.push(await page.textContent("#step-count"));
      let actions = 0;
      await page.goto(`${runtime.url}/admin/#/install`);
      await page.waitForSelector("#bundle-file");
      await record();
      await shot("install-1-choose");
      await page.setInputFiles("#bundle-file", packBundle(runtime, join(repoRoot, "samples/ticket-tags")));
      actions += 1;
      await page.waitForSelector("#validation-ok");
      await record();
      await shot("install-2-validation");
      await page.click("#next");
      actions += 1;
      await page.waitForSelector("#review");
      await record();
      const review = await page.textContent("#review");
      assert(review.includes("read its own saved data") && review.includes("see tickets in the host app"), `review: ${review}`);
      await shot("install-3-permissions", page, { fullPage: true });
      await page.click("#next");
      actions += 1;
      await page.waitForSelector("#confirm");
      await record();
      assert(await page.isChecked("#enable-now"), "enable now is offered, checked");
      await shot("install-4-confirm");
      await page.click("#confirm-install");
      actions += 1;
      await page.waitForSelector("#install-done");
      await toast("is installed and enabled");
      await shot("install-done");
      assert(JSON.stringify(steps) === JSON.stringify(["Step 1 of 4", "Step 2 of 4", "Step 3 of 4", "Step 4 of 4"]), `steps ${JSON.stringify(steps)}`);
      assert(actions <= 4, `${actions} actions`);
      const ext = (await apiAs(`/admin/v1/extensions/${TAGS}`)).body.extension;
      assert(ext.status === "installed" && ext.enabled, `after the flow: ${ext.status}, enabled ${ext.enabled}`);
      measured.push(`console install flow: ${steps.length} steps, ${actions} actions, ${Date.now() - started} ms with screenshots`);
    });

    await check("console: the list shows each extension with its badge; the filters and the sort narrow and order it", async () => {
      packAndInstall(runtime, admin, join(repoRoot, "js/test/fixtures/runaway"));
      await page.click("#open-detail");
      await page.waitForSelector("#detail-title");
      await page.click("a[href='#/']:has-text('All extensions')");
      await page.waitForSelector(`tr[data-key='${RUNAWAY}']`);
      const badge = (key) => page.getAttribute(`tr[data-key='${key}'] [data-badge]`, "data-badge");
      assert((await badge(TAGS)) === "enabled" && (await badge(RUNAWAY)) === "enabled", `badges ${await badge(TAGS)}, ${await badge(RUNAWAY)}`);
      const rows = () => page.$$eval("#extensions tbody tr", (trs) => trs.map((tr) => tr.dataset.key));
      assert(JSON.stringify(await rows()) === JSON.stringify([RUNAWAY, TAGS]), `A to Z: ${await rows()}`);
      await page.selectOption("#sort", "-name");
      await waitFor("Z to A", async () => JSON.stringify(await rows()) === JSON.stringify([TAGS, RUNAWAY]));
      await page.fill("#filter-text", "tags");
      await waitFor("the text filter", async () => JSON.stringify(await rows()) === JSON.stringify([TAGS]));
      await page.selectOption("#filter-status", "disabled");
      await page.waitForSelector("#empty:has-text('No extension matches')");
      await page.click("#empty button");
      await waitFor("the cleared filters", async () => (await rows()).length === 2);
      await page.selectOption("#sort", "name");
      await waitFor("A to Z again", async () => (await rows())[0] === RUNAWAY);
      await shot("list");
      await page.emulateMedia({ colorScheme: "dark" });
      await shot("list-dark");
      await page.emulateMedia({ colorScheme: "light" });
    });

    await check("console: keyboard only, Tab walks from the heading through the filters and rows, Enter opens a detail", async () => {
      // As after any navigation: the screen's heading has focus, so Tab starts at the content.
      await page.goto(`${runtime.url}/admin/#/`);
      await page.reload();
      await page.waitForSelector(`tr[data-key='${TAGS}']`);
      const focused = () => page.evaluate(() => document.activeElement.id || document.activeElement.getAttribute("href"));
      await waitFor("focus on the list's heading", async () => (await focused()) === "list-title");
      const order = [];
      for (let i = 0; i < 6; i++) {
        await page.keyboard.press("Tab");
        order.push(await focused());
      }
      const expected = ["install-button", "filter-text", "filter-status", "sort", `#/extensions/${RUNAWAY}`, `#/extensions/${TAGS}`];
      assert(JSON.stringify(order) === JSON.stringify(expected), `tab order ${JSON.stringify(order)}`);
      // The header is before the content: Shift+Tab from the first control reaches it.
      await page.focus("#install-button");
      const back = [];
      for (let i = 0; i < 3; i++) {
        await page.keyboard.press("Shift+Tab");
        back.push(await focused());
      }
      assert(JSON.stringify(back) === JSON.stringify(["sign-out", "theme-toggle", "#/install"]), `Shift+Tab ${JSON.stringify(back)}`);
      await page.focus(`a[href='#/extensions/${TAGS}']`);
      await page.keyboard.press("Enter");
      await waitFor("the detail of the focused row, its heading focused", async () =>
        (await page.textContent("#detail-title")) === "Ticket Tags" && (await focused()) === "detail-title");
    });

    await detailChecks(ctx);

    await check("console: at 375 px wide the list, a detail and the install flow fit without sideways scrolling", async () => {
      await page.setViewportSize({ width: 375, height: 812 });
      for (const [hash, ready, name] of [["#/", "#extensions", "list-375"], [`#/extensions/${RUNAWAY}`, "#settings-form", "detail-375"], ["#/install", "#bundle-file", "install-375"]]) {
        await page.goto(`${runtime.url}/admin/${hash}`);
        await page.waitForSelector(ready);
        const widths = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
        assert(widths[0] <= widths[1], `${hash} is ${widths[0]}px wide in a ${widths[1]}px window`);
        await shot(name);
      }
      await page.setViewportSize({ width: 1280, height: 900 });
    });

    await check("console: the theme toggle switches to dark and back, remembered across loads; only the theme is stored", async () => {
      await page.goto(`${runtime.url}/admin/#/`);
      await page.waitForSelector("#extensions");
      const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const light = await background();
      await page.click("#theme-toggle");
      assert((await page.getAttribute("html", "data-theme")) === "dark" && (await page.getAttribute("#theme-toggle", "aria-pressed")) === "true", "toggled");
      const dark = await background();
      await page.reload();
      await page.waitForSelector("#extensions");
      assert((await page.getAttribute("html", "data-theme")) === "dark" && (await background()) === dark && dark !== light, `after reload: ${await background()}`);
      assert(JSON.stringify(await page.evaluate(() => Object.keys(localStorage))) === JSON.stringify(["alga-console-theme"]), "localStorage holds the theme only");
      await page.click("#theme-toggle");
      assert((await background()) === light, "back to light");
    });

    await check("console: first paint within 300 ms on loopback; all script within 150 KB gzip", async () => {
      const loads = [];
      for (let i = 0; i < 3; i++) {
        const fresh = await context.newPage();
        await fresh.goto(`${runtime.url}/admin/#/`);
        await fresh.waitForSelector("#extensions");
        loads.push(await fresh.evaluate(() => ({
          paint: performance.getEntriesByName("first-contentful-paint")[0].startTime,
          rendered: performance.getEntriesByName("console-rendered")[0].startTime,
          listed: performance.now(),
        })));
        await fresh.close();
      }
      const median = (key) => loads.map((l) => l[key]).sort((a, b) => a - b)[1];
      const sizes = scriptSizes();
      const gzip = sizes.reduce((sum, f) => sum + f.gzip, 0);
      const raw = sizes.reduce((sum, f) => sum + f.raw, 0);
      measured.push(`console first contentful paint, median of 3: ${median("paint").toFixed(0)} ms; app rendered ${median("rendered").toFixed(0)} ms; list shown by ${median("listed").toFixed(0)} ms`);
      measured.push(`console script: ${sizes.length} files, ${(raw / 1024).toFixed(1)} KiB raw, ${(gzip / 1024).toFixed(1)} KiB gzip`);
      assert(median("paint") < 300, `first paint ${median("paint")} ms`);
      // Every module is preloaded, so the browser fetches them in one round instead of import by import.
      const index = readFileSync(join(CONSOLE_DIR, "index.html"), "utf8");
      const missing = sizes.filter((f) => f.name !== "app.js" && !index.includes(`<link rel="modulepreload" href="/admin/${f.name}">`));
      assert(missing.length === 0, `index.html does not preload ${missing.map((f) => f.name)}`);
      assert(gzip < 150 * 1024, `script is ${gzip} bytes gzip`);
    });

    await check("console: sign out ends the session", async () => {
      await page.click("#sign-out");
      await page.waitForSelector("#token");
      await toast("Signed out.");
      const status = await page.evaluate(async () => (await fetch("/admin/session", { credentials: "same-origin" })).status);
      assert(status === 401, `the session answers ${status} after signing out`);
    });

    await check("console: no uncaught error and no CSP violation in the console", async () => {
      assert(problems.length === 0, problems.join("\n"));
    });
  } finally {
    await context.close();
    await runtime.stop();
  }
}
