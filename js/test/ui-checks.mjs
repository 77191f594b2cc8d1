//! The browser suite's checks of the UI components (js/ui/): each renders, works from the keyboard, follows the theme; run by run.mjs.
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { feedbackChecks } from "./ui/feedback-checks.mjs";
import { fieldChecks } from "./ui/field-checks.mjs";

/** Registers the UI component checks with the runner's `check`, on a fresh page of `context`. */
export async function uiChecks({ check, assert, waitFor, context, host, runtimeUrl, fixtureUrl, framedUrl, outputDir, repoRoot, measured }) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(String(err)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(fixtureUrl);
  await page.waitForSelector("body[data-ready='1']");
  const events = () => page.evaluate(() => [...window.uiTest.events]);
  const focused = () =>
    page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return "body";
      // Roles first: the components give tabs and panels generated ids.
      if (el.getAttribute("role") === "tab") return `tab:${el.textContent.trim()}`;
      if (el.getAttribute("role") === "tabpanel") return "tabpanel";
      if (el.id) return el.id;
      if (el.dataset.page) return `page:${el.dataset.page}`;
      if (el.closest("th")) return `sort:${el.textContent.trim()}`;
      return `${el.tagName.toLowerCase()}.${el.className}`;
    });
  const bodyRows = () =>
    page.evaluate(() => [...document.querySelectorAll("#table tbody tr")].filter((row) => !row.hidden).map((row) => row.cells[0].textContent));
  const sortOf = (column) => page.evaluate((i) => document.querySelectorAll("#table thead th")[i].getAttribute("aria-sort"), column);

  await check("UI components render with their roles and names", async () => {
    const facts = await page.evaluate(() => {
      const box = (sel) => document.querySelector(sel).getBoundingClientRect();
      return {
        defined: [
          "alga-button", "alga-badge", "alga-alert", "alga-card", "alga-spinner", "alga-skeleton", "alga-input", "alga-select",
          "alga-checkbox", "alga-dialog", "alga-toast", "alga-toast-region", "alga-tabs", "alga-table",
        ].filter((n) => !customElements.get(n)),
        button: [document.querySelector("#save").getAttribute("role"), document.querySelector("#save").tabIndex, box("#save").width > 0],
        disabled: [document.querySelector("#off").getAttribute("aria-disabled"), document.querySelector("#off").tabIndex],
        spinner: [document.querySelector("#spinner").getAttribute("role"), document.querySelector("#spinner").getAttribute("aria-label"), getComputedStyle(document.querySelector("#spinner")).animationName],
        alerts: [...document.querySelectorAll("alga-alert")].map((a) => a.getAttribute("role")),
        card: [document.querySelector("#card").getAttribute("role"), document.querySelector("#card").getAttribute("aria-label")],
        badge: getComputedStyle(document.querySelector("#badge")).borderRadius,
        tabs: [document.querySelectorAll("#tabs [role=tablist] [role=tab]").length, document.querySelectorAll("#tabs [role=tabpanel]:not([hidden])").length],
        dialogHidden: box("#dialog dialog").height === 0,
        pager: document.querySelector("#table .alga-table__pager span").textContent,
      };
    });
    assert(facts.defined.length === 0, `undefined elements: ${facts.defined}`);
    assert(JSON.stringify(facts.button) === JSON.stringify(["button", 0, true]), `button ${JSON.stringify(facts.button)}`);
    assert(JSON.stringify(facts.disabled) === JSON.stringify(["true", -1]), `disabled button ${JSON.stringify(facts.disabled)}`);
    assert(JSON.stringify(facts.spinner) === JSON.stringify(["status", "Loading tickets", "alga-spin"]), `spinner ${JSON.stringify(facts.spinner)}`);
    assert(JSON.stringify(facts.alerts) === JSON.stringify(["status", "alert"]), `alert roles ${JSON.stringify(facts.alerts)}`);
    assert(facts.card[0] === "region" && facts.card[1] === "Summary", `card ${JSON.stringify(facts.card)}`);
    assert(facts.badge === "999px", `badge radius ${facts.badge}`);
    assert(facts.tabs[0] === 3 && facts.tabs[1] === 1, `tabs ${JSON.stringify(facts.tabs)}`);
    assert(facts.dialogHidden, "the dialog is closed until opened");
    assert(facts.pager === "Page 1 of 2", `pager says ${facts.pager}`);
    assert(JSON.stringify(await bodyRows()) === JSON.stringify(["Printer jam", "Email down", "VPN slow"]), `first page ${await bodyRows()}`);
  });

  await check("UI components: Tab visits the controls in order, skipping the disabled button", async () => {
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    const order = [];
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press("Tab");
      order.push(await focused());
    }
    const expected = ["save", "open-dialog", "button.alga-alert__dismiss", "tab:Open", "tabpanel", "sort:Title", "sort:Priority", "page:next"];
    assert(JSON.stringify(order) === JSON.stringify(expected), `tab order ${JSON.stringify(order)}`);
  });

  await check("alga-button: Enter and Space activate it; a disabled one does nothing", async () => {
    await page.focus("#save");
    await page.keyboard.press("Enter");
    await page.keyboard.press("Space");
    await page.click("#off", { force: true });
    const seen = await events();
    assert(seen.filter((e) => e === "save").length === 2, `events ${JSON.stringify(seen)}`);
    assert(!seen.includes("disabled clicked"), "the disabled button fired");
  });

  await check("alga-tabs: arrows, Home and End move the selection with a roving tabindex", async () => {
    await page.focus("#tabs [role=tab]");
    const state = () =>
      page.evaluate(() => ({
        focused: document.activeElement.textContent.trim(),
        selected: [...document.querySelectorAll("#tabs [role=tab]")].map((t) => `${t.getAttribute("aria-selected")}/${t.tabIndex}`).join(" "),
        panel: document.querySelector("#tabs [role=tabpanel]:not([hidden])").textContent,
      }));
    await page.keyboard.press("ArrowRight");
    let now = await state();
    assert(now.focused === "Waiting" && now.selected === "false/-1 true/0 false/-1" && now.panel.startsWith("Tickets waiting"), JSON.stringify(now));
    await page.keyboard.press("ArrowLeft");
    await page.keyboard.press("ArrowLeft");
    now = await state();
    assert(now.focused === "Closed" && now.selected === "false/-1 false/-1 true/0", `ArrowLeft wraps: ${JSON.stringify(now)}`);
    await page.keyboard.press("Home");
    assert((await state()).focused === "Open", "Home");
    await page.keyboard.press("End");
    assert((await state()).focused === "Closed", "End");
    assert((await events()).includes("tab 2"), "change events fire");
  });

  await check("alga-dialog: opens from the keyboard, traps Tab, Escape closes it and focus returns", async () => {
    await page.focus("#open-dialog");
    await page.keyboard.press("Enter");
    await waitFor("the dialog to open", () => page.evaluate(() => document.querySelector("#dialog").open));
    assert((await focused()) === "confirm", `focus moved to ${await focused()}`);
    await page.keyboard.press("Tab");
    assert((await focused()) === "cancel", `Tab went to ${await focused()}`);
    await page.keyboard.press("Tab");
    assert((await focused()) === "confirm", `Tab wraps to ${await focused()}`);
    await page.keyboard.press("Shift+Tab");
    assert((await focused()) === "cancel", `Shift+Tab wraps to ${await focused()}`);
    mkdirSync(outputDir, { recursive: true });
    await page.screenshot({ path: join(outputDir, "ui-dialog.png") });
    await page.keyboard.press("Escape");
    assert(!(await page.evaluate(() => document.querySelector("#dialog").open)), "Escape left it open");
    assert((await focused()) === "open-dialog", `focus returned to ${await focused()}`);
    assert((await events()).includes("dialog closed: cancel"), `events ${await events()}`);
    // A [data-close] button closes it with its value.
    await page.keyboard.press("Enter");
    await page.keyboard.press("Enter");
    assert((await events()).includes("dialog closed: delete"), `events ${await events()}`);
    assert((await focused()) === "open-dialog", "focus returned after the button closed it");
  });

  await check("alga-table: sorting from the keyboard sets aria-sort and reorders the rows; the pager pages", async () => {
    await page.focus("#table th:nth-child(2) button");
    await page.keyboard.press("Enter");
    assert((await sortOf(1)) === "ascending" && (await sortOf(0)) === null, `aria-sort ${await sortOf(1)}`);
    let rows = await bodyRows();
    assert(JSON.stringify(rows) === JSON.stringify(["Email down", "New laptop", "Printer jam"]), `by priority (as numbers) ${rows}`);
    await page.keyboard.press("Space");
    assert((await sortOf(1)) === "descending", `aria-sort ${await sortOf(1)}`);
    rows = await bodyRows();
    assert(rows[0] === "VPN slow", `descending ${rows}`);
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Enter");
    assert((await sortOf(0)) === "ascending" && (await sortOf(1)) === null, "sorting by Title moves aria-sort");
    rows = await bodyRows();
    assert(JSON.stringify(rows) === JSON.stringify(["Email down", "New laptop", "Printer jam"]), `by title ${rows}`);
    await page.focus("#table [data-page=next]");
    await page.keyboard.press("Enter");
    rows = await bodyRows();
    assert(JSON.stringify(rows) === JSON.stringify(["VPN slow"]), `page 2 ${rows}`);
    assert((await page.textContent("#table .alga-table__pager span")) === "Page 2 of 2", "pager text");
    assert((await focused()) === "page:previous", `on the last page focus moved to ${await focused()}`);
  });

  await check("alga-table: setData renders rows as text and sorts numbers as numbers", async () => {
    const result = await page.evaluate(() => {
      const table = document.createElement("alga-table");
      document.querySelector("main").append(table);
      table.setData(
        [{ key: "name", label: "Tag", sort: "text" }, { key: "uses", label: "Uses", sort: "number" }, { key: "missing" }],
        [{ name: "<b>bold</b>", uses: 9 }, { name: "urgent", uses: 10 }, { name: "billing", uses: 2 }],
      );
      table.sortBy(1, "descending");
      const out = {
        names: [...table.querySelectorAll("tbody tr")].map((row) => row.cells[0].textContent),
        bold: table.querySelectorAll("tbody b").length,
        sort: table.querySelectorAll("th")[1].getAttribute("aria-sort"),
        headers: [...table.querySelectorAll("th")].map((th) => th.textContent),
      };
      table.remove();
      return out;
    });
    assert(JSON.stringify(result.names) === JSON.stringify(["urgent", "<b>bold</b>", "billing"]), `rows ${JSON.stringify(result.names)}`);
    assert(result.bold === 0 && result.sort === "descending", JSON.stringify(result));
    assert(JSON.stringify(result.headers) === JSON.stringify(["Tag", "Uses", "missing"]), `headers ${JSON.stringify(result.headers)}`);
  });

  // The form controls, the skeleton and toasts, on the same page.
  mkdirSync(outputDir, { recursive: true });
  await fieldChecks({ check, assert, page, events });
  await feedbackChecks({ check, assert, waitFor, page, events, outputDir });

  await check("UI components follow the color scheme; screenshots light and dark", async () => {
    const colors = () =>
      page.evaluate(() => ({
        body: getComputedStyle(document.body).backgroundColor,
        button: getComputedStyle(document.querySelector("#save")).backgroundColor,
        card: getComputedStyle(document.querySelector("#card")).backgroundColor,
      }));
    await page.evaluate(() => window.uiTest.setColorScheme("light"));
    const light = await colors();
    await page.screenshot({ path: join(outputDir, "ui-light.png"), fullPage: true });
    await page.evaluate(() => window.uiTest.setColorScheme("dark"));
    const dark = await colors();
    await page.screenshot({ path: join(outputDir, "ui-dark.png"), fullPage: true });
    for (const key of Object.keys(light)) assert(light[key] !== dark[key], `${key} stays ${light[key]} in dark`);
    assert(light.body === "rgb(255, 255, 255)", `light background ${light.body}`);
  });

  await check("UI components follow the host's theme message through the Page SDK", async () => {
    const opened = await host.evaluate(([url]) => window.hostTest.frame("page2", "com.alga.samples.ticket-tags", url), [framedUrl]);
    assert(opened.ok, `framed fixture: ${JSON.stringify(opened)}`);
    const frame = await (await host.waitForSelector("#page2 iframe")).contentFrame();
    await frame.waitForSelector("body[data-ready='1']");
    const button = () => frame.evaluate(() => getComputedStyle(document.querySelector("#save")).backgroundColor);
    const before = await button();
    await host.evaluate(() => window.hostTest.setTheme({ "--alga-primary": "rgb(200, 30, 90)", "--alga-bg": "rgb(10, 20, 30)" }));
    await waitFor("the button to take the host's primary", async () => (await button()) === "rgb(200, 30, 90)");
    const background = await frame.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert(before !== "rgb(200, 30, 90)" && background === "rgb(10, 20, 30)", `before ${before}, body ${background}`);
  });

  await check("the new components follow the host's theme message through the Page SDK", async () => {
    const frame = await (await host.waitForSelector("#page2 iframe")).contentFrame();
    await host.evaluate(() => window.hostTest.setTheme({ "--alga-primary": "rgb(12, 140, 70)", "--alga-bg": "rgb(250, 240, 230)" }));
    await frame.evaluate(() => window.uiTest.AlgaToast.show("Saved in the host's colors.", { timeout: 0 }));
    const colors = () =>
      frame.evaluate(() => ({
        checkbox: getComputedStyle(document.querySelector("#notify input")).backgroundColor,
        input: getComputedStyle(document.querySelector("#title input")).backgroundColor,
        select: getComputedStyle(document.querySelector("#priority [role=combobox]")).backgroundColor,
        toast: getComputedStyle(document.querySelector("alga-toast")).backgroundColor,
        toastEdge: getComputedStyle(document.querySelector("alga-toast")).borderInlineStartColor,
      }));
    await waitFor("the checkbox to take the host's primary", async () => (await colors()).checkbox === "rgb(12, 140, 70)");
    const now = await colors();
    const expected = { checkbox: "rgb(12, 140, 70)", input: "rgb(250, 240, 230)", select: "rgb(250, 240, 230)", toast: "rgb(250, 240, 230)", toastEdge: "rgb(12, 140, 70)" };
    assert(JSON.stringify(now) === JSON.stringify(expected), `framed components ${JSON.stringify(now)}`);
  });

  await check("the runtime serves every js/ui/ file at /ext-ui/_sdk/<version>/ byte for byte", async () => {
    // The 404 for another version names this build's version, as the docs say.
    const probe = await (await fetch(`${runtimeUrl}/ext-ui/_sdk/0.0.0/alga-ui.js`)).json();
    const version = probe.error.details.version;
    const types = { js: "text/javascript", css: "text/css", ts: "application/typescript" };
    // Every module the entry imports must be served beside it, or pages break on a 404.
    const files = readdirSync(join(repoRoot, "js/ui"));
    assert(files.length >= 8, `js/ui has ${files}`);
    for (const file of files) {
      const response = await fetch(`${runtimeUrl}/ext-ui/_sdk/${version}/${file}`);
      const type = types[file.split(".").pop()];
      assert(response.status === 200 && response.headers.get("content-type").startsWith(type), `${file}: ${response.status} ${response.headers.get("content-type")}`);
      assert((await response.text()) === readFileSync(join(repoRoot, "js/ui", file), "utf8"), `${file} differs from js/ui/${file}`);
    }
    const loaded = files.filter((file) => !file.endsWith(".d.ts")).map((file) => readFileSync(join(repoRoot, "js/ui", file)));
    const bytes = loaded.reduce((sum, text) => sum + text.length, 0);
    const gzipped = loaded.reduce((sum, text) => sum + gzipSync(text).length, 0);
    measured.push(`UI components: the ${loaded.length} files a page loads = ${(bytes / 1024).toFixed(1)} KiB, ${(gzipped / 1024).toFixed(1)} KiB gzipped`);
  });

  await check("the ticket-tags sample vendors the current js/ui/ files (alga-ui.js, its modules, alga-ui.css)", async () => {
    const sampleUi = join(repoRoot, "samples/ticket-tags/ui");
    const wanted = readdirSync(join(repoRoot, "js/ui")).filter((file) => !file.endsWith(".d.ts"));
    for (const file of wanted) {
      const vendored = join(sampleUi, file);
      assert(existsSync(vendored), `samples/ticket-tags/ui/${file} is missing: copy js/ui/${file} there`);
      assert(readFileSync(vendored, "utf8") === readFileSync(join(repoRoot, "js/ui", file), "utf8"), `samples/ticket-tags/ui/${file} differs: copy js/ui/${file} over it`);
    }
    // A module js/ui dropped or renamed must not linger in the sample's bundle.
    const stale = readdirSync(sampleUi).filter((file) => file.startsWith("alga-ui") && !wanted.includes(file));
    assert(stale.length === 0, `samples/ticket-tags/ui has files js/ui/ no longer has: ${stale.join(", ")}`);
  });

  await check("no uncaught error on the UI components page", async () => {
    assert(errors.length === 0, errors.join("\n"));
  });
  await page.close();
}
