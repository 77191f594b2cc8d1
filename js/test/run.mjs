//! The browser suite: the Host SDK, the Page SDK and the UI components in real Chromium against a real `alga-ext serve`. Prints `N passed, N failed`.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { consoleChecks } from "./console-checks.mjs";
import { demoChecks } from "./demo/demo-checks.mjs";
import { uiChecks } from "./ui-checks.mjs";
import { freePort, mintToken, packAndInstall, repoRoot, startRuntime, startStaticServer } from "./support.mjs";

const TAGS = "com.alga.samples.ticket-tags";
const SILENT = "com.alga.tests.silent";
const READY_TIMEOUT_MS = 3000;
const outputDir = join(repoRoot, "js/test/output");
const results = [];
const measured = [];

async function check(name, body) {
  const started = Date.now();
  try {
    await body();
    results.push({ name, ok: true });
    console.log(`ok    ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    results.push({ name, ok: false });
    console.log(`FAIL  ${name}: ${err && err.stack ? err.stack : err}`);
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

async function waitFor(what, probe, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const hostPort = await freePort();
  const hostOrigin = `http://localhost:${hostPort}`;
  // Same server, other host name: another origin for the forged messages.
  const forgerOrigin = `http://127.0.0.1:${hostPort}`;
  const staticServer = await startStaticServer(hostPort);
  const runtime = await startRuntime({ hostOrigin });
  const token = (user, roles) => mintToken(runtime.secret, { tenant: "acme", user, roles });
  const admin = token("alice", ["admin"]);
  const technician = token("bob", ["technician"]);
  const guest = token("gail", ["guest"]);
  let browser;
  try {
    packAndInstall(runtime, admin, join(repoRoot, "samples/ticket-tags"));
    packAndInstall(runtime, admin, join(repoRoot, "js/test/fixtures/silent"), { vendorPageSdk: true });
    // A widget handler that always throws: its error card must not take the others down.
    packAndInstall(runtime, admin, join(repoRoot, "js/test/fixtures/broken"));
    for (const name of ["urgent", "billing"]) {
      const response = await fetch(`${runtime.url}/api/extensions/${TAGS}/tags`, {
        method: "POST",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body: JSON.stringify({ name }),
      });
      assert(response.status === 201, `creating tag ${name} answered ${response.status}`);
    }

    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
      // Chromium's own sandbox needs user namespaces, which CI containers (running as root) lack.
      args: ["--no-sandbox"],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const openHost = async (userToken, extra = {}) => {
      const page = await context.newPage();
      const config = { runtime: runtime.url, token: userToken, readyTimeoutMs: READY_TIMEOUT_MS, ...extra };
      await page.goto(`${hostOrigin}/test/host/index.html#${encodeURIComponent(JSON.stringify(config))}`);
      await page.waitForSelector("body[data-ready='1']");
      return page;
    };
    const frameOf = async (page, slot) => (await page.waitForSelector(`#${slot} iframe`)).contentFrame();

    const page = await openHost(technician);
    const errors = [];
    page.on("pageerror", (err) => errors.push(String(err)));
    if (process.env.ALGA_BROWSER_DEBUG) page.on("console", (m) => console.log(`console ${m.type()}: ${m.text()}`));

    await check("navigation shows the extension's items to a user holding its permission", async () => {
      const nav = await page.evaluate(() => window.hostTest.renderNav());
      for (const label of ["Tags", "Tag board", "Silent"]) assert(nav.labels.includes(label), `missing ${label} in ${JSON.stringify(nav)}`);
      assert((await page.locator("#nav a").count()) === nav.labels.length, "every item is a link in the nav");
      measured.push(`navigation slot render: ${nav.renderMs.toFixed(1)} ms`);
    });

    await check("navigation leaves the items out for a user without the permission", async () => {
      const other = await openHost(guest);
      const nav = await other.evaluate(() => window.hostTest.renderNav());
      assert(!nav.labels.includes("Tags") && !nav.labels.includes("Tag board"), `guest sees ${JSON.stringify(nav.labels)}`);
      assert(nav.labels.includes("Silent"), "the open item is still listed (the slot did render)");
      const opened = await other.evaluate((id) => window.hostTest.open("page", id, "/board"), TAGS);
      assert(!opened.ok && opened.code === "FORBIDDEN", `opening the board as guest: ${JSON.stringify(opened)}`);
      await other.waitForSelector("#page .alga-ext-error[data-code='FORBIDDEN']");
      await other.close();
    });

    await check("the board page mounts, becomes ready and lists the tags through apiproxy", async () => {
      const opened = await page.evaluate((id) => window.hostTest.open("page", id, "/board"), TAGS);
      assert(opened.ok, `board not ready: ${JSON.stringify(opened)}`);
      const frame = await frameOf(page, "page");
      await frame.waitForSelector("#tags li");
      const tags = await frame.locator("#tags li").allTextContents();
      assert(tags.includes("urgent") && tags.includes("billing"), `board shows ${JSON.stringify(tags)}`);
      const sandbox = await page.getAttribute("#page iframe", "sandbox");
      assert(sandbox === "allow-scripts allow-forms", `sandbox is ${sandbox}`);
      measured.push(`board page mount→ready (first): ${opened.metrics.mountToReadyMs.toFixed(1)} ms (descriptor ${opened.metrics.descriptorMs.toFixed(1)} ms)`);
    });

    await check("the page takes the host's theme at bootstrap and on change", async () => {
      const frame = await frameOf(page, "page");
      const primary = () => frame.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue("--alga-primary").trim());
      assert((await primary()) === "rgb(37, 99, 235)", `bootstrap theme: ${await primary()}`);
      await page.evaluate(() => window.hostTest.setTheme({ "--alga-primary": "rgb(22, 163, 74)" }));
      await waitFor("the new theme in the page", async () => (await primary()) === "rgb(22, 163, 74)");
      const heading = await frame.evaluate(() => getComputedStyle(document.querySelector("h1")).color);
      assert(heading === "rgb(22, 163, 74)", `the page's heading follows the token: ${heading}`);
    });

    await check("the frame takes the page's reported height", async () => {
      const frame = await frameOf(page, "page");
      // The whole document, collapsed margins included: nothing of the page is cut off.
      const wanted = await frame.evaluate(() => Math.ceil(document.documentElement.getBoundingClientRect().height));
      assert(wanted > 80, `the board is ${wanted}px tall`);
      await waitFor(`frame height ${wanted}px`, async () => (await page.evaluate(() => document.querySelector("#page iframe").style.height)) === `${wanted}px`);
    });

    await check("forged messages from another origin and from the host window are ignored", async () => {
      const frame = await frameOf(page, "page");
      const heightBefore = await page.evaluate(() => document.querySelector("#page iframe").style.height);
      const proxied = [];
      const onRequest = (request) => request.url().includes("/api/ui/apiproxy/") && proxied.push(request.url());
      page.on("request", onRequest);
      await page.evaluate((url) => window.hostTest.addForger(url), `${forgerOrigin}/test/host/forger.html`);
      const forger = await frameOf(page, "forgers");
      await forger.waitForSelector("body[data-sent='1']");
      assert(new URL(forger.url()).origin === forgerOrigin, `forger runs at ${forger.url()}`);
      // The host's own window is not a frame either.
      await page.evaluate(() => window.postMessage({ alga: true, version: "1", type: "resize", payload: { height: 999 } }, "*"));
      // Give any (wrongly) accepted message time to act: the checks below look for its effects.
      await page.waitForTimeout(750);
      page.off("request", onRequest);
      assert(proxied.length === 0, `forged apiproxy reached the runtime: ${proxied}`);
      const heightAfter = await page.evaluate(() => document.querySelector("#page iframe").style.height);
      assert(heightAfter === heightBefore, `height changed from ${heightBefore} to ${heightAfter}`);
      assert((await page.evaluate(() => window.hostTest.current("page"))) === "/board", "the host navigated");
      const primary = await frame.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue("--alga-primary").trim());
      assert(primary === "rgb(22, 163, 74)", `the page took a forged theme: ${primary}`);
      const response = await fetch(`${runtime.url}/api/extensions/${TAGS}/tags`, { headers: { authorization: `Bearer ${admin}` } });
      const names = (await response.json()).tags.map((tag) => tag.name);
      assert(!names.includes("forged"), "a forged tag was created");
      await page.evaluate(() => document.getElementById("forgers").replaceChildren());
    });

    await check("a navigate message opens the handler-rendered page without reloading the host", async () => {
      const marker = await page.evaluate(() => window.hostMarker);
      const frame = await frameOf(page, "page");
      await frame.click("#open-list");
      await waitFor("the host to route to /tags", async () => (await page.evaluate(() => window.hostTest.current("page"))) === "/tags");
      const opened = await page.evaluate(() => window.hostTest.ready("page"));
      assert(opened.ok, `the tag list page did not become ready: ${JSON.stringify(opened)}`);
      const list = await frameOf(page, "page");
      assert(new URL(list.url()).pathname.startsWith("/ext-pages/"), `handler page at ${list.url()}`);
      // Its height follows too: the frame is as tall as the document, so the list is not cut off.
      const wanted = await list.evaluate(() => Math.ceil(document.documentElement.getBoundingClientRect().height));
      await waitFor(`the tag list's frame at ${wanted}px`, async () => (await page.evaluate(() => document.querySelector("#page iframe").style.height)) === `${wanted}px`);
      await list.waitForSelector("h1");
      const items = await list.locator("li").allTextContents();
      assert(items.includes("urgent"), `handler page lists ${JSON.stringify(items)}`);
      assert((await page.evaluate(() => window.hostMarker)) === marker, "the host page was reloaded");
      measured.push(`handler page mount→ready: ${opened.metrics.mountToReadyMs.toFixed(1)} ms`);
    });

    await check("the dashboard renders the data widget and the frame widget", async () => {
      const dash = await page.evaluate(() => window.hostTest.renderDashboard());
      assert(dash.ids.includes("popular-tags") && dash.ids.includes("hello"), `widgets ${JSON.stringify(dash.ids)}`);
      const tags = await page.locator("[data-widget-id='popular-tags'] li").allTextContents();
      assert(tags.includes("urgent") && tags.includes("billing"), `data widget shows ${JSON.stringify(tags)}`);
      const frame = await frameOf(page, "dashboard [data-widget-id='hello']");
      await waitFor("the frame widget's greeting", async () => (await frame.textContent("#hello")) === "Hello bob of acme");
      measured.push(`dashboard slot render (data widget run inline): ${dash.renderMs.toFixed(1)} ms`);
    });

    await check("a page that never sends ready shows the error card while another page works", async () => {
      const [silent, board] = await page.evaluate(
        ([silentId, tagsId]) => Promise.all([window.hostTest.open("page2", silentId, "/silent"), window.hostTest.open("page", tagsId, "/board")]),
        [SILENT, TAGS],
      );
      assert(!silent.ok && silent.code === "EXTENSION_NOT_READY", `silent page: ${JSON.stringify(silent)}`);
      assert(board.ok, `board: ${JSON.stringify(board)}`);
      await page.waitForSelector("#page2 .alga-ext-error[data-code='EXTENSION_NOT_READY']");
      assert((await page.locator("#page2 iframe").count()) === 0, "the silent frame is removed");
      const frame = await frameOf(page, "page");
      await frame.waitForSelector("#tags li");
      mkdirSync(outputDir, { recursive: true });
      await page.screenshot({ path: join(outputDir, "host-board.png"), fullPage: true });
    });

    await check("mount→ready stays under the seed's 800 ms and slots under 100 ms", async () => {
      const mounts = [];
      for (let i = 0; i < 5; i++) {
        const opened = await page.evaluate((id) => window.hostTest.open("page", id, "/board"), TAGS);
        assert(opened.ok, `mount ${i}: ${JSON.stringify(opened)}`);
        mounts.push(opened.metrics.mountToReadyMs);
      }
      const navs = [];
      for (let i = 0; i < 5; i++) navs.push((await page.evaluate(() => window.hostTest.renderNav())).renderMs);
      measured.push(`board mount→ready, median of 5: ${median(mounts).toFixed(1)} ms (max ${Math.max(...mounts).toFixed(1)})`);
      measured.push(`navigation slot render, median of 5: ${median(navs).toFixed(1)} ms`);
      assert(median(mounts) < 800, `mount→ready median ${median(mounts)} ms`);
      assert(median(navs) < 100, `navigation render median ${median(navs)} ms`);
    });

    await check("the sample's vendored Page SDK is the current js/page/alga-page.js", async () => {
      const vendored = readFileSync(join(repoRoot, "samples/ticket-tags/ui/alga-page.js"), "utf8");
      const source = readFileSync(join(repoRoot, "js/page/alga-page.js"), "utf8");
      assert(vendored === source, "samples/ticket-tags/ui/alga-page.js differs: copy js/page/alga-page.js over it");
    });

    await check("the React bindings render both slots, a page, its navigation and a contained failure", async () => {
      const react = await context.newPage();
      const config = { runtime: runtime.url, token: technician, readyTimeoutMs: READY_TIMEOUT_MS, extensionId: TAGS };
      await react.goto(`${hostOrigin}/test/host/react.html#${encodeURIComponent(JSON.stringify(config))}`);
      await react.waitForSelector("#nav a");
      const labels = await react.locator("#nav a").allTextContents();
      assert(labels.includes("Tag board"), `React nav shows ${JSON.stringify(labels)}`);
      await react.waitForSelector("[data-widget-id='popular-tags'] li");
      await react.waitForSelector("#broken .alga-ext-error");
      const board = await frameOf(react, "page");
      await board.waitForSelector("#tags li");
      await board.click("#open-list");
      await waitFor("the React page at /tags", async () => (await react.evaluate(() => window.reactTest.ready.map((r) => r.path))).includes("/tags"));
      const list = await frameOf(react, "page");
      assert(new URL(list.url()).pathname.startsWith("/ext-pages/"), `React page at ${list.url()}`);
      const times = await react.evaluate(() => window.reactTest);
      measured.push(`React: navigation slot ${times.nav.toFixed(1)} ms, dashboard slot ${times.dashboard.toFixed(1)} ms, board mount→ready ${times.ready[0].mountToReadyMs.toFixed(1)} ms`);
      await react.close();
    });

    await check("a page written with the Page SDK's React hooks gets the theme and calls its endpoint", async () => {
      await page.evaluate(() => window.hostTest.setTheme({ "--alga-primary": "rgb(1, 2, 3)" }));
      // Framed with the same sandbox; on the test server's origin, so its origin is "null" too.
      const opened = await page.evaluate(
        ([id, url]) => window.hostTest.frame("page2", id, url),
        [TAGS, `${forgerOrigin}/test/host/react-page.html`],
      );
      assert(opened.ok, `hooks page: ${JSON.stringify(opened)}`);
      const frame = await frameOf(page, "page2");
      await frame.waitForSelector("#tags li");
      assert((await frame.textContent("#primary")) === "rgb(1, 2, 3)", `useTheme gave ${await frame.textContent("#primary")}`);
      await page.evaluate(() => window.hostTest.setTheme({ "--alga-primary": "rgb(4, 5, 6)" }));
      await waitFor("useTheme to follow the change", async () => (await frame.textContent("#primary")) === "rgb(4, 5, 6)");
      const tags = await frame.locator("#tags li").allTextContents();
      assert(tags.includes("urgent"), `the hooks page lists ${JSON.stringify(tags)}`);
    });

    await check("a host that allows same-origin frames still talks to the runtime's pages (sandboxed by their CSP)", async () => {
      const other = await openHost(technician, { sandbox: "allow-scripts allow-forms allow-same-origin" });
      const opened = await other.evaluate((id) => window.hostTest.open("page", id, "/board"), TAGS);
      assert(opened.ok, `board not ready: ${JSON.stringify(opened)}`);
      const frame = await frameOf(other, "page");
      await frame.waitForSelector("#tags li");
      assert((await frame.evaluate(() => window.origin)) === "null", "the page's origin is opaque all the same");
      await other.close();
    });

    // The UI components (js/ui/), standalone and framed by the test host.
    await uiChecks({
      check, assert, waitFor, context, host: page, runtimeUrl: runtime.url, outputDir, repoRoot, measured,
      fixtureUrl: `${hostOrigin}/test/ui/index.html`,
      framedUrl: `${forgerOrigin}/test/ui/index.html`,
    });

    // The demo host shell the runtime itself serves at /demo (dev mode), driven like a newcomer would.
    await demoChecks({
      check, assert, waitFor, context, runtime, outputDir, measured, forgerOrigin, tagsId: TAGS,
      tokens: { technician, guest, admin },
    });

    // The admin console at /admin, on a runtime of its own (js/test/console-checks.mjs).
    await consoleChecks({ check, assert, waitFor, browser, hostOrigin, measured });

    await check("no uncaught error in the host page", async () => {
      assert(errors.length === 0, errors.join("\n"));
    });
  } finally {
    if (browser) await browser.close();
    await runtime.stop();
    staticServer.close();
  }
  for (const line of measured) console.log(`measured: ${line}`);
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error(`browser suite could not run: ${err && err.stack ? err.stack : err}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
});
