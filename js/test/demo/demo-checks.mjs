//! The browser suite's checks of the demo host shell at /demo (serve --dev): sign-in, navigation by permission, widgets, pages through apiproxy, contained failures, forged messages, the sample's components; run by run.mjs.
import { mkdirSync } from "node:fs";
import { join } from "node:path";

/**
 * Registers the /demo checks with the runner's `check`. `tokens` holds `technician` (may view
 * the sample's tags), `guest` (may not) and `admin` (may also add tags); `forgerOrigin` serves
 * js/test/ on another origin than the runtime.
 */
export async function demoChecks({ check, assert, waitFor, context, runtime, tokens, tagsId, forgerOrigin, outputDir, measured }) {
  const frameOf = async (page, slot) => (await page.waitForSelector(`#${slot} iframe`)).contentFrame();
  const tagNames = async () => {
    const response = await fetch(`${runtime.url}/api/extensions/${tagsId}/tags`, { headers: { authorization: `Bearer ${tokens.admin}` } });
    return (await response.json()).tags.map((tag) => tag.name);
  };
  mkdirSync(outputDir, { recursive: true });
  const demo = await context.newPage();
  // Uncaught errors and console errors (CSP violations and failed requests among them), with the URL they name.
  const demoProblems = [];
  demo.on("pageerror", (err) => demoProblems.push({ text: String(err), url: "" }));
  demo.on("console", (m) => m.type() === "error" && demoProblems.push({ text: m.text(), url: m.location().url || "" }));
  const sdkRequests = [];
  demo.on("request", (request) => request.url().includes("/ext-ui/_sdk/") && sdkRequests.push(request.url()));


  await check("/demo asks for a token, then shows the sample's navigation items", async () => {
    await demo.goto(`${runtime.url}/demo`);
    await demo.waitForSelector("body[data-ready='1']");
    assert(await demo.isVisible("#token-form"), "the sign-in form is shown first");
    assert((await demo.locator("#nav a").count()) === 0, "no extension is listed before a token is given");
    await demo.fill("#token", tokens.technician);
    await demo.click("#token-form button[type=submit]");
    await demo.waitForSelector("#nav a[data-item-id]");
    const labels = await demo.locator("#nav a").allTextContents();
    for (const label of ["Tags", "Tag board"]) assert(labels.includes(label), `demo nav shows ${JSON.stringify(labels)}`);
    assert((await demo.textContent("#who")).includes("bob @ acme"), `signed in as ${await demo.textContent("#who")}`);
    assert(sdkRequests.some((url) => url.endsWith("/alga-host.js")), `the Host SDK came from /ext-ui/_sdk: ${sdkRequests}`);
    // The token lives in this tab's sessionStorage only.
    const stored = await demo.evaluate(() => ({ session: sessionStorage.length, local: localStorage.length, cookie: document.cookie }));
    assert(stored.session === 1 && stored.local === 0 && stored.cookie === "", `token storage: ${JSON.stringify(stored)}`);
  });

  await check("/demo shows the dashboard's data widget and frame widget", async () => {
    await demo.waitForSelector("#dashboard [data-widget-id='popular-tags'] li");
    const tags = await demo.locator("#dashboard [data-widget-id='popular-tags'] li").allTextContents();
    assert(tags.includes("urgent") && tags.includes("billing"), `demo data widget shows ${JSON.stringify(tags)}`);
    const hello = await frameOf(demo, "dashboard [data-widget-id='hello']");
    await waitFor("the demo frame widget's greeting", async () => (await hello.textContent("#hello")) === "Hello bob of acme");
    await demo.screenshot({ path: join(outputDir, "demo-dashboard.png"), fullPage: true });
  });

  await check("/demo: a widget whose handler throws shows its error card while the other widgets render", async () => {
    const card = await demo.waitForSelector("#dashboard [data-widget-id='always-fails'] .alga-ext-error");
    const text = await card.textContent();
    assert(text.startsWith("This widget failed") && (await card.getAttribute("data-code")), `error card: ${text}`);
    const tags = await demo.locator("#dashboard [data-widget-id='popular-tags'] li").allTextContents();
    assert(tags.includes("urgent"), `the sample's widget still shows ${JSON.stringify(tags)}`);
    const hello = await frameOf(demo, "dashboard [data-widget-id='hello']");
    assert((await hello.textContent("#hello")) === "Hello bob of acme", "the frame widget still greets");
  });

  await check("/demo opens a clicked nav item's page in the frame, which lists tags through apiproxy", async () => {
    await demo.evaluate(() => (window.demoMarker = 1));
    const proxied = [];
    const onResponse = (response) => response.url().includes("/api/ui/apiproxy/") && proxied.push(response.status());
    demo.on("response", onResponse);
    const clicked = Date.now();
    await demo.click("#nav a:text-is('Tag board')");
    await waitFor("the board's route in the fragment", async () => (await demo.evaluate(() => location.hash)).endsWith("/board"));
    const board = await frameOf(demo, "page");
    await board.waitForSelector("#tags li");
    const tags = await board.locator("#tags li").allTextContents();
    assert(tags.includes("urgent") && tags.includes("billing"), `demo board shows ${JSON.stringify(tags)}`);
    measured.push(`demo: nav click → board lists its tags (driver round trips included): ${Date.now() - clicked} ms`);
    demo.off("response", onResponse);
    assert(proxied.length > 0 && proxied.every((status) => status === 200), `apiproxy answers: ${JSON.stringify(proxied)}`);
    assert((await demo.getAttribute("#page iframe", "sandbox")) === "allow-scripts allow-forms", "the page is sandboxed");
    assert(await demo.isHidden("#home"), "the dashboard gives way to the page");
    assert((await demo.textContent("#page-title")) === "Tag board", `page title ${await demo.textContent("#page-title")}`);
    // The page's own link navigates the shell without reloading it.
    await board.click("#open-list");
    await waitFor("the shell at /tags", async () => (await demo.evaluate(() => location.hash)).endsWith("/tags"));
    const list = await frameOf(demo, "page");
    await list.waitForSelector("li");
    assert((await demo.evaluate(() => window.demoMarker)) === 1, "the shell was reloaded");
    await demo.click("#nav a:text-is('Tag board')");
    // The list's frame goes away as the board's comes: look until the new one shows its tags.
    await waitFor("the board again", async () => {
      const element = await demo.$("#page iframe");
      const frame = element && (await element.contentFrame());
      return frame && (await frame.$("#tags li").catch(() => null));
    });
    await demo.screenshot({ path: join(outputDir, "demo-board.png"), fullPage: true });
  });

  /** The board's frame once it lists tags (its frame is replaced when the page changes). */
  const boardFrame = () =>
    waitFor("the board listing its tags", async () => {
      const element = await demo.$("#page iframe");
      const frame = element && (await element.contentFrame());
      return frame && (await frame.$("#tags li").catch(() => null)) ? frame : null;
    });
  const toastsIn = (frame) =>
    frame.evaluate(() => [...document.querySelectorAll("alga-toast")].map((toast) => `${toast.getAttribute("tone")}: ${toast.querySelector(".alga-toast__body").textContent}`));

  await check("/demo: the sample's board refuses a technician's new tag with a toast, and an empty name inline", async () => {
    const board = await boardFrame();
    assert(await board.isHidden("#loading"), "the loading skeleton stays after the tags came");
    const proxied = [];
    const onRequest = (request) => request.url().includes("/api/ui/apiproxy/") && proxied.push(request.method());
    demo.on("request", onRequest);
    await board.focus("#add");
    await demo.keyboard.press("Enter");
    const empty = await board.evaluate(() => ({
      error: document.getElementById("tag-name").getAttribute("error"),
      focused: document.activeElement.closest("alga-input")?.id,
    }));
    assert(empty.error && empty.focused === "tag-name", `an empty name: ${JSON.stringify(empty)}`);
    assert(proxied.length === 0, `an empty name was sent: ${proxied}`);
    await board.fill("#tag-name input", "from-technician");
    // Enter in the form's only text field submits it, as in any form.
    await demo.keyboard.press("Enter");
    await board.waitForSelector("alga-toast[tone='danger']");
    demo.off("request", onRequest);
    const shown = await toastsIn(board);
    assert(JSON.stringify(shown) === JSON.stringify(["danger: You may not add tags: that needs the manage permission. Ask an administrator."]), `toasts ${JSON.stringify(shown)}`);
    assert(proxied.length === 1, `one call went through the host: ${proxied}`);
    assert(!(await board.locator("#tags li").allTextContents()).includes("from-technician"), "the refused tag is listed");
    assert(!(await tagNames()).includes("from-technician"), "the refused tag was stored");
    await demo.screenshot({ path: join(outputDir, "demo-board-refused.png"), animations: "disabled" });
    // F8 reaches the toast inside the page's frame; Escape dismisses it.
    await demo.keyboard.press("F8");
    await demo.keyboard.press("Escape");
    assert((await toastsIn(board)).length === 0, "the toast stays after Escape");
  });

  await check("/demo: a page that never sends ready becomes an error card while the shell and the other pages keep working", async () => {
    await demo.click("#nav a:text-is('Silent')");
    await waitFor("the silent page's route", async () => (await demo.evaluate(() => location.hash)).endsWith("/silent"));
    const card = await demo.waitForSelector("#page .alga-ext-error[data-code='EXTENSION_NOT_READY']", { timeout: 15000 });
    assert((await card.textContent()).includes("did not answer"), `card says ${await card.textContent()}`);
    assert((await demo.locator("#page iframe").count()) === 0, "the silent frame is left in place");
    await demo.screenshot({ path: join(outputDir, "demo-not-ready.png"), fullPage: true });
    await demo.click("#nav a:text-is('Tag board')");
    const board = await boardFrame();
    assert((await board.locator("#tags li").allTextContents()).includes("urgent"), "the board works after the failure");
  });

  await check("/demo ignores forged messages from a window on another origin (its opener) and to its frames", async () => {
    const board = await boardFrame();
    const state = async () => ({
      height: await demo.evaluate(() => document.querySelector("#page iframe").style.height),
      hash: await demo.evaluate(() => location.hash),
      primary: await board.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue("--alga-primary").trim()),
      frames: await demo.locator("#page iframe").count(),
    });
    const before = await state();
    const proxied = [];
    const onRequest = (request) => request.url().includes("/api/ui/apiproxy/") && proxied.push(request.url());
    demo.on("request", onRequest);
    // A popup /demo opened holds /demo's window: the nearest thing to a hostile frame its CSP allows.
    const [popup] = await Promise.all([
      context.waitForEvent("page"),
      demo.evaluate((url) => void window.open(url, "forger"), `${forgerOrigin}/test/demo/forger.html`),
    ]);
    await popup.waitForSelector("body[data-sent]");
    const reached = await popup.getAttribute("body", "data-sent");
    assert(new URL(popup.url()).origin === forgerOrigin && Number(reached) >= 1, `forger at ${popup.url()} reached ${reached} frames`);
    // Give any (wrongly) accepted message time to act: the checks below look for its effects.
    await demo.waitForTimeout(750);
    demo.off("request", onRequest);
    await popup.close();
    const after = await state();
    assert(JSON.stringify(after) === JSON.stringify(before), `the shell changed: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
    assert(proxied.length === 0, `a forged apiproxy reached the runtime: ${proxied}`);
    assert(!(await tagNames()).includes("forged-in-demo"), "a forged tag was created");
    assert(!(await board.textContent("body")).includes("mallory"), "the board took a forged bootstrap");
  });

  await check("/demo has no uncaught error and no CSP violation", async () => {
    assert(demoProblems.length === 0, demoProblems.map((problem) => problem.text).join("\n"));
    await demo.click("#sign-out");
    await demo.waitForSelector("#token-form");
    assert((await demo.evaluate(() => sessionStorage.length)) === 0, "forgetting the token clears it");
  });

  /** Signs out (when signed in) and in again with `token`, on the dashboard. */
  const signInAs = async (token, who) => {
    if (await demo.isVisible("#sign-out")) await demo.click("#sign-out");
    await demo.evaluate(() => (location.hash = "#/"));
    await demo.fill("#token", token);
    await demo.click("#token-form button[type=submit]");
    await waitFor(`signed in as ${who}`, async () => (await demo.textContent("#who")).includes(who));
    await demo.waitForSelector("#nav a[data-item-id]");
  };
  const problemsBefore = demoProblems.length;

  await check("/demo: a user without the permission sees no Tags items, and the board's link shows a FORBIDDEN card", async () => {
    await signInAs(tokens.guest, "gail @ acme");
    const labels = await demo.locator("#nav a[data-item-id]").allTextContents();
    assert(!labels.includes("Tags") && !labels.includes("Tag board") && labels.includes("Silent"), `guest nav ${JSON.stringify(labels)}`);
    await demo.waitForSelector("#dashboard [data-widget-id='hello']");
    const widgets = await demo.$$eval("#dashboard [data-widget-id]", (cards) => cards.map((card) => card.dataset.widgetId));
    assert(!widgets.includes("popular-tags") && widgets.includes("always-fails"), `guest widgets ${JSON.stringify(widgets)}`);
    // The link another user would follow: the runtime refuses the page, the shell shows why.
    await demo.evaluate((id) => (location.hash = `#/extensions/${encodeURIComponent(id)}/board`), tagsId);
    const card = await demo.waitForSelector("#page .alga-ext-error[data-code='FORBIDDEN']");
    assert((await demo.locator("#page iframe").count()) === 0, `no frame for a refused page: ${await card.textContent()}`);
    await demo.screenshot({ path: join(outputDir, "demo-guest-forbidden.png"), fullPage: true });
  });

  await check("/demo: an admin adds a tag on the sample's board: a success toast, the field empties, the list shows it", async () => {
    await signInAs(tokens.admin, "alice @ acme");
    await demo.click("#nav a:text-is('Tag board')");
    const board = await boardFrame();
    await board.fill("#tag-name input", "added-in-demo");
    await board.focus("#add");
    await demo.keyboard.press("Enter");
    await board.waitForSelector("alga-toast[tone='success']");
    assert(JSON.stringify(await toastsIn(board)) === JSON.stringify(['success: Tag "added-in-demo" added.']), `toasts ${JSON.stringify(await toastsIn(board))}`);
    await waitFor("the new tag in the list", async () => (await board.locator("#tags li").allTextContents()).includes("added-in-demo"));
    assert((await board.inputValue("#tag-name input")) === "", "the form was not reset");
    assert((await tagNames()).includes("added-in-demo"), "the tag was not stored");
    await demo.screenshot({ path: join(outputDir, "demo-board-added.png"), fullPage: true, animations: "disabled" });
  });

  await check("/demo: no uncaught error as guest and admin (only the guest's refused page request failed)", async () => {
    const unexpected = demoProblems
      .slice(problemsBefore)
      .filter((problem) => !(problem.text.includes("status of 403") && problem.url.includes(`/api/ui/pages/${encodeURIComponent(tagsId)}/board`)));
    assert(unexpected.length === 0, unexpected.map((problem) => `${problem.text} (${problem.url})`).join("\n"));
    await demo.click("#sign-out");
    await demo.waitForSelector("#token-form");
  });
  await demo.close();
}
