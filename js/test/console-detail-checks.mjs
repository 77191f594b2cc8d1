// The browser suite's checks of the console's extension page: facts, settings, secrets, the switch, roles, limits, errors, updates, uninstall.
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { packBundle, repoRoot } from "./support.mjs";
/** Registers the detail checks; `page` is signed in, TAGS (installed by the flow) and RUNAWAY (by the CLI) are enabled. */
export async function detailChecks({ check, assert, waitFor, page, runtime, apiAs, shot, toast, admin, keys: { TAGS, RUNAWAY } }) {
  const open = async (key) => {
    await page.goto(`${runtime.url}/admin/#/extensions/${key}`);
    await page.waitForSelector("#settings-form");
    await page.waitForSelector("#roles-grid, #roles p.muted");
  };
  const settingsOf = async (key) => (await apiAs(`/admin/v1/extensions/${key}/settings`)).body.values;

  await check("console: the detail says what the extension may do in words, and who may reach each extension point", async () => {
    await open(TAGS);
    const caps = await page.$$eval("#capabilities li", (items) => items.map((li) => li.textContent));
    assert(caps.length === 3 && caps.every((c) => c.includes("Granted")), `capabilities ${JSON.stringify(caps)}`);
    assert(caps.some((c) => c.includes("see tickets in the host app")), "capabilities are described in words");
    const points = await page.textContent("#extension-points");
    for (const text of ["Tag board", "Popular tags", "POST /tags", "holds manage", "holds view"]) assert(points.includes(text), `extension points lack ${text}`);
    assert((await page.textContent("#facts")).includes("Alga samples"), "the publisher is among the facts");
    await shot("detail");
  });

  await check("console: a settings value the runtime refuses is shown beside its field; a valid one is saved; reset restores defaults", async () => {
    await page.fill("#setting-maxTagsPerTicket", "ten");
    await page.click("#save-settings");
    await page.waitForSelector("#setting-maxTagsPerTicket-error");
    const said = await page.textContent("#setting-maxTagsPerTicket-error");
    assert(said.includes("is not a number"), `the field says ${said}`);
    assert((await page.getAttribute("#setting-maxTagsPerTicket", "aria-invalid")) === "true", "the field is marked invalid");
    await waitFor("focus on the refused field", async () => (await page.evaluate(() => document.activeElement.id)) === "setting-maxTagsPerTicket");
    await toast("Settings not saved: 1 problem");
    await shot("settings-error", page.locator("#settings"));
    await page.fill("#setting-maxTagsPerTicket", "5");
    await page.selectOption("#setting-palette", "vivid");
    await page.click("#save-settings");
    await toast("Settings of Ticket Tags saved.");
    assert((await page.locator("#setting-maxTagsPerTicket-error").count()) === 0, "the error stayed");
    const saved = await settingsOf(TAGS);
    assert(saved.maxTagsPerTicket === 5 && saved.palette === "vivid", `saved ${JSON.stringify(saved)}`);
    await page.click("#reset-settings");
    await page.waitForSelector("dialog[open] #confirm-reset");
    await page.click("#confirm-reset");
    await toast("back to their defaults");
    const reset = await settingsOf(TAGS);
    assert(reset.maxTagsPerTicket === 10 && reset.palette === "pastel", `after reset ${JSON.stringify(reset)}`);
    assert((await page.inputValue("#setting-maxTagsPerTicket")) === "10", "the form shows the defaults again");
  });

  await check("console: the enable switch disables and enables, each with a notification", async () => {
    await page.click("#enabled-switch");
    await page.waitForSelector("#enabled-switch[aria-checked='false']");
    await toast("Ticket Tags is disabled");
    assert((await page.getAttribute(".subtitle [data-badge]", "data-badge")) === "disabled", "the badge says disabled");
    assert((await apiAs(`/admin/v1/extensions/${TAGS}`)).body.extension.enabled === false, "still enabled on the server");
    await page.click("#enabled-switch");
    await page.waitForSelector("#enabled-switch[aria-checked='true']");
    await toast("Ticket Tags is enabled.");
    assert((await apiAs(`/admin/v1/extensions/${TAGS}`)).body.extension.enabled === true, "not enabled again on the server");
  });

  await check("console: granting a role one of the extension's permissions and revoking it again", async () => {
    const permission = `${TAGS}:manage`;
    const box = `#roles-grid input[data-role='technician'][data-permission='${permission}']`;
    const holds = async () => (await apiAs("/admin/v1/roles")).body.permissions.find((p) => p.permission === permission).roles.includes("technician");
    assert(!(await page.isChecked(box)) && !(await holds()), "technician starts without manage");
    await page.click(box);
    await toast("Role technician now holds manage.");
    await waitFor("the box checked", () => page.isChecked(box));
    assert(await holds(), "the grant did not reach the server");
    await shot("roles", page.locator("#roles"));
    await page.click(box);
    await toast("Role technician no longer holds manage.");
    await waitFor("the box unchecked", async () => !(await page.isChecked(box)));
    assert(!(await holds()), "the revoke did not reach the server");
  });

  await check("console: the limits form shows the runtime's refusal beside the field, then saves an override and clears it", async () => {
    await page.fill("#limit-heapMb", "1");
    await page.click("#limits-form button[type=submit]");
    await page.waitForSelector("#limit-heapMb-error");
    assert((await page.textContent("#limit-heapMb-error")).includes("outside 8..=256"), await page.textContent("#limit-heapMb-error"));
    await page.fill("#limit-heapMb", "128");
    await page.click("#limits-form button[type=submit]");
    await toast("Limits of Ticket Tags saved.");
    assert((await apiAs(`/admin/v1/extensions/${TAGS}/limits`)).body.overrides.heapMb === 128, "the override was not saved");
    await page.fill("#limit-heapMb", "");
    await page.click("#limits-form button[type=submit]");
    await waitFor("the override cleared", async () => JSON.stringify((await apiAs(`/admin/v1/extensions/${TAGS}/limits`)).body.overrides) === "{}");
  });

  await check("console: recent activity lists this extension's audit entries in words", async () => {
    await page.reload();
    await page.waitForSelector("#audit-list");
    const audit = await page.textContent("#audit-list");
    for (const words of ["alice approved", "alice disabled", "alice enabled", "alice changed settings", "alice reset settings to defaults", "alice changed limits"]) {
      assert(audit.includes(words), `recent activity lacks "${words}": ${audit}`);
    }
    assert((await page.textContent("#recent-errors")).includes("No recent errors"), "a healthy extension shows no errors");
  });

  await check("console: secret settings are masked with a Replace button and never shown back", async () => {
    await open(RUNAWAY);
    assert((await page.getAttribute("#setting-apiKey", "type")) === "password", "an unset secret is a password field");
    await page.fill("#setting-apiKey", "s3cret-value");
    await page.click("#save-settings");
    await toast("Settings of Runaway (console test fixture) saved.");
    await page.waitForSelector("#setting-apiKey-secret .secret__mask");
    assert(!(await page.content()).includes("s3cret-value"), "the secret is in the page");
    assert((await settingsOf(RUNAWAY)).apiKey === "********", "the server shows the secret back");
    assert((await page.textContent("label[for='setting-apiKey']")) === "API key", "the label names the Replace button");
    await page.click("#setting-apiKey");
    await waitFor("focus in the new secret's password field", async () =>
      (await page.evaluate(() => `${document.activeElement.id}/${document.activeElement.type}`)) === "setting-apiKey/password");
    await page.fill("#setting-apiKey", "n3w-secret");
    const channels = page.locator("[data-setting='channels'] input[type=checkbox]");
    assert((await channels.count()) === 3 && (await channels.nth(0).isChecked()), "the multiselect shows its options and default");
    await channels.nth(1).check();
    await page.click("#save-settings");
    await page.waitForSelector("#setting-apiKey-secret .secret__mask");
    assert(JSON.stringify((await settingsOf(RUNAWAY)).channels) === JSON.stringify(["email", "sms"]), "the multiselect was not saved");
    await shot("settings-secret", page.locator("#settings"));
  });

  await check("console: limit hits and the circuit breaker's suspension show as recent errors; switching it on resumes it", async () => {
    for (let i = 0; i < 8; i++) {
      const response = await fetch(`${runtime.url}/api/extensions/${RUNAWAY}/spin`, { headers: { authorization: `Bearer ${admin}` } });
      await response.arrayBuffer();
      if ((await apiAs(`/admin/v1/extensions/${RUNAWAY}`)).body.extension.status === "suspended") break;
    }
    await page.reload();
    await page.waitForSelector("#suspension");
    assert((await page.getAttribute(".subtitle [data-badge]", "data-badge")) === "suspended", "the badge says suspended");
    await page.waitForSelector("#errors-list");
    const errors = await page.textContent("#errors-list");
    assert(errors.includes("CPU time limit hit") && errors.includes("Suspended by the circuit breaker"), `recent errors: ${errors}`);
    await page.waitForSelector("#log-list");
    assert((await page.textContent("#log-list")).includes("CPU time limit"), `the log: ${await page.textContent("#log-list")}`);
    await shot("suspended");
    await shot("errors", page.locator("#recent-errors"));
    await page.click("#enabled-switch");
    await toast("is enabled.");
    await page.waitForSelector(".subtitle [data-badge='enabled']");
    assert((await apiAs(`/admin/v1/extensions/${RUNAWAY}`)).body.extension.status === "installed", "switching on did not resume it");
  });

  await check("console: an update shows its permission diff; cancelled it is rejected; uploaded it waits with a badge, to reject or approve", async () => {
    const dir = join(runtime.dir, "runaway-1.1.0");
    cpSync(join(repoRoot, "js/test/fixtures/runaway"), dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    writeFileSync(join(dir, "manifest.json"), JSON.stringify({ ...manifest, version: "1.1.0", permissions: ["storage:read", "storage:write"] }));
    const archive = packBundle(runtime, dir);
    const pendingUpdate = async () => (await apiAs(`/admin/v1/extensions/${RUNAWAY}`)).body.pendingUpdate;
    await page.goto(`${runtime.url}/admin/#/install`);
    await page.setInputFiles("#bundle-file", archive);
    await page.waitForSelector("#validation-ok");
    assert((await page.textContent("#validation-ok")).includes("An update of the installed Runaway (console test fixture) from 1.0.0 to 1.1.0"), "step 2 names the update");
    await page.click("#next");
    await page.waitForSelector("#review .diff__added");
    assert((await page.textContent("#review .diff__added")).includes("storage:write"), "the diff shows the added capability");
    await shot("install-update-diff");
    await page.click("#cancel-install");
    await toast("the uploaded update was rejected");
    assert((await pendingUpdate()) === null, "the cancelled update is still pending");
    // Uploaded some other way (the CLI, the API), it waits for an admin on the extension's page.
    const upload = async () => {
      const form = new FormData();
      form.append("bundle", new Blob([readFileSync(archive)]), "runaway-1.1.0.zip");
      assert((await apiAs("/admin/v1/extensions", { method: "POST", body: form })).status === 201, "the update upload");
    };
    await upload();
    await page.reload();
    await page.waitForSelector(`tr[data-key='${RUNAWAY}'] [data-badge='update']`);
    assert((await page.textContent(`tr[data-key='${RUNAWAY}'] [data-badge='update']`)) === "Update 1.1.0 pending", "the list's update badge");
    await page.selectOption("#filter-status", "update");
    await waitFor("only the extension with an update", async () => (await page.locator("#extensions tbody tr").count()) === 1);
    await page.selectOption("#filter-status", "");
    await shot("list-badges");
    await page.click(`a[href='#/extensions/${RUNAWAY}']`);
    await page.waitForSelector("#approval .diff__added");
    await page.click("#reject-update");
    await toast("Update 1.1.0 of Runaway (console test fixture) was rejected");
    await page.waitForSelector("#approval", { state: "detached" });
    assert((await pendingUpdate()) === null, "the rejected update is still pending");
    await upload();
    await page.reload();
    await page.waitForSelector("#approval .diff__added");
    await shot("approve-update", page.locator("#approval"));
    await page.click("#approve");
    await toast("1.1.0 is approved and now serving.");
    await page.waitForSelector("#approval", { state: "detached" });
    const ext = (await apiAs(`/admin/v1/extensions/${RUNAWAY}`)).body.extension;
    assert(ext.version === "1.1.0" && ext.enabled, `after approval: ${ext.version}, enabled ${ext.enabled}`);
    const audit = await page.textContent("#audit-list");
    assert(audit.includes("rejected an update") && audit.includes("uploaded an update"), `recent activity: ${audit}`);
  });

  await check("console: uninstall names the extension, Escape closes and returns focus, and purge deletes its data", async () => {
    await open(TAGS);
    await page.focus("#uninstall");
    await page.keyboard.press("Enter");
    await page.waitForSelector("dialog[open]");
    assert((await page.evaluate(() => document.activeElement.id)) === "confirm-name", "focus moved into the dialog");
    await page.keyboard.press("Escape");
    await waitFor("the dialog to close", async () => (await page.locator("dialog[open]").count()) === 0);
    assert((await page.evaluate(() => document.activeElement.id)) === "uninstall", "focus went back to the Uninstall button");
    await page.click("#uninstall");
    assert(await page.isDisabled("#confirm-uninstall"), "the button waits for the name");
    await page.fill("#confirm-name", "Ticket Tags");
    await page.check("#purge");
    assert((await page.textContent("#confirm-uninstall")).trim() === "Uninstall Ticket Tags and delete its data", await page.textContent("#confirm-uninstall"));
    await shot("uninstall");
    await page.click("#confirm-uninstall");
    await toast("Ticket Tags was uninstalled and its data deleted.");
    await page.waitForSelector("#list-title");
    assert((await page.locator(`tr[data-key='${TAGS}']`).count()) === 0, "it is still listed");
    assert((await apiAs(`/admin/v1/extensions/${TAGS}`)).status === 404, "it is still installed");
    const entry = (await apiAs("/admin/v1/audit?limit=5")).body.entries.find((e) => e.action === "extension.uninstalled");
    assert(entry && entry.details.purged === true, `audit of the uninstall: ${JSON.stringify(entry)}`);
  });
}
