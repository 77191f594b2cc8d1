//! The browser suite's checks of the form controls (alga-input, alga-select, alga-checkbox) on the UI fixture page: labels, keyboard, validation, form values; run by ui-checks.mjs.

/** Registers the form-control checks with the runner's `check`, on the already opened fixture `page`. */
export async function fieldChecks({ check, assert, page, events }) {
  const same = (actual, expected) => JSON.stringify(actual) === JSON.stringify(expected);
  // Where focus is, named by the component around it.
  const focusedIn = () =>
    page.evaluate(() => {
      const el = document.activeElement;
      const host = el && el.closest("alga-input, alga-select, alga-checkbox, alga-button");
      return host ? host.id : el ? el.localName : "none";
    });
  const field = (id) =>
    page.evaluate((hostId) => {
      const host = document.getElementById(hostId);
      const control = host.querySelector("input, [role=combobox]");
      const ids = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      return {
        error: host.getAttribute("error"),
        errorShown: !host.querySelector(".alga-field__error").hidden,
        invalid: control.getAttribute("aria-invalid"),
        describedBy: ids.map((ref) => document.getElementById(ref)?.textContent ?? `missing #${ref}`),
        validationMessage: host.validationMessage ?? control.validationMessage,
      };
    }, id);
  const combo = () =>
    page.evaluate(() => {
      const select = document.getElementById("priority");
      const control = select.querySelector("[role=combobox]");
      const active = control.getAttribute("aria-activedescendant");
      return {
        expanded: control.getAttribute("aria-expanded"),
        listShown: !select.querySelector("[role=listbox]").hidden,
        active: active ? document.getElementById(active).textContent : null,
        shown: control.textContent,
        value: select.value,
      };
    });

  await check("alga-input, alga-select, alga-checkbox: labelled controls (found by role and name), hints tied by aria-describedby", async () => {
    // Looked up as assistive technology would: by role and accessible name.
    const hostOf = (locator) => locator.evaluate((el) => el.closest("alga-input, alga-select, alga-checkbox").id);
    assert((await hostOf(page.getByRole("textbox", { name: "Title", exact: true }))) === "title", "no textbox named Title");
    assert((await hostOf(page.getByRole("textbox", { name: "Reporter email", exact: true }))) === "email", "no textbox named Reporter email");
    assert((await hostOf(page.getByRole("spinbutton", { name: "Estimate (hours)", exact: true }))) === "hours", "no spinbutton named Estimate (hours)");
    assert((await hostOf(page.getByLabel("Portal password", { exact: true }))) === "secret", "no field labelled Portal password");
    assert((await hostOf(page.getByRole("combobox", { name: "Priority", exact: true }))) === "priority", "no combobox named Priority");
    assert((await hostOf(page.getByRole("checkbox", { name: "Email the reporter", exact: true }))) === "notify", "no checkbox named Email the reporter");
    const facts = await page.evaluate(() => ({
      types: ["title", "email", "hours", "secret"].map((id) => document.getElementById(id).control.type),
      required: [document.getElementById("title").control.required, document.querySelector("#priority [role=combobox]").getAttribute("aria-required")],
      hours: document.getElementById("hours").valueAsNumber,
      notify: [document.getElementById("notify").checked, document.getElementById("notify").value],
      all: [document.getElementById("all").control.indeterminate, document.getElementById("all").checked],
      priority: [document.getElementById("priority").value, document.getElementById("priority").validity.valueMissing],
    }));
    assert(same(facts.types, ["text", "email", "number", "password"]), `types ${JSON.stringify(facts.types)}`);
    assert(same(facts.required, [true, "true"]), `required ${JSON.stringify(facts.required)}`);
    assert(facts.hours === 2 && same(facts.notify, [true, "yes"]) && same(facts.all, [true, false]), JSON.stringify(facts));
    assert(same(facts.priority, ["", true]), `an empty required select is invalid: ${JSON.stringify(facts.priority)}`);
    const title = await field("title");
    assert(same(title.describedBy, ["What went wrong, in a few words."]) && title.invalid === null && !title.errorShown, `title ${JSON.stringify(title)}`);
    const priority = await combo();
    assert(same(priority, { expanded: "false", listShown: false, active: null, shown: "Choose a priority", value: "" }), `select ${JSON.stringify(priority)}`);
  });

  await check("alga-input: a refused submit shows the browser's message under the field and focuses it; typing clears it", async () => {
    await page.focus("#submit");
    await page.keyboard.press("Enter");
    const title = await field("title");
    assert(title.error && title.error === title.validationMessage && title.errorShown, `title error ${JSON.stringify(title)}`);
    assert(title.invalid === "true" && same(title.describedBy, ["What went wrong, in a few words.", title.error]), `described by ${JSON.stringify(title)}`);
    assert((await field("priority")).error === "Choose one of the options.", `priority ${JSON.stringify(await field("priority"))}`);
    assert((await focusedIn()) === "title", `the first invalid field has focus, not ${await focusedIn()}`);
    assert(!(await events()).some((e) => e.startsWith("submitted")), "an invalid form was submitted");
    await page.keyboard.type("Printer on fire");
    const typed = await field("title");
    assert(typed.error === null && typed.invalid === null && same(typed.describedBy, ["What went wrong, in a few words."]), `after typing ${JSON.stringify(typed)}`);
    // A number out of range: the browser's message, then gone with a valid number.
    await page.fill("#hours input", "99");
    assert(!(await page.evaluate(() => document.getElementById("hours").reportValidity())), "99 hours passed max=40");
    const hours = await field("hours");
    assert(hours.error && hours.error.includes("40") && hours.invalid === "true", `hours ${JSON.stringify(hours)}`);
    assert((await focusedIn()) === "hours", `reportValidity focused ${await focusedIn()}`);
    await page.fill("#hours input", "3");
    assert((await field("hours")).error === null, "a valid number clears the message");
    // An error the page sets (a server's answer, say) stays until the page clears it.
    await page.evaluate(() => document.getElementById("email").setAttribute("error", "That address bounced last week."));
    await page.fill("#email input", "x@example.com");
    const email = await field("email");
    assert(email.error === "That address bounced last week." && email.invalid === "true", `page-set error ${JSON.stringify(email)}`);
    await page.evaluate(() => document.getElementById("email").removeAttribute("error"));
    assert((await field("email")).invalid === null, "clearing the attribute clears aria-invalid");
    await page.fill("#email input", "");
  });

  await check("alga-select: opens, moves (skipping disabled options), types ahead, chooses and cancels from the keyboard", async () => {
    await page.focus("#priority [role=combobox]");
    await page.keyboard.press("ArrowDown");
    let now = await combo();
    assert(now.expanded === "true" && now.listShown && now.active === "Low" && now.value === "", `ArrowDown opens at the first option: ${JSON.stringify(now)}`);
    await page.keyboard.press("ArrowDown");
    assert((await combo()).active === "Normal", "ArrowDown moves");
    await page.keyboard.press("End");
    assert((await combo()).active === "Later", "End");
    await page.keyboard.press("ArrowUp");
    assert((await combo()).active === "High", `ArrowUp skips the disabled Urgent: ${(await combo()).active}`);
    await page.keyboard.press("Enter");
    now = await combo();
    assert(same(now, { expanded: "false", listShown: false, active: null, shown: "High", value: "high" }), `Enter chooses: ${JSON.stringify(now)}`);
    assert((await events()).includes("priority high"), "change fired");
    assert((await field("priority")).error === null, "choosing clears the required message");
    await page.keyboard.press("Space");
    assert((await combo()).active === "High", "reopening starts at the chosen option");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Escape");
    now = await combo();
    assert(now.expanded === "false" && now.value === "high", `Escape cancels: ${JSON.stringify(now)}`);
    await page.keyboard.press("n");
    now = await combo();
    assert(now.expanded === "true" && now.active === "Normal", `typing opens and finds: ${JSON.stringify(now)}`);
    // After a pause a letter starts a new search; the same letter again cycles through its options.
    await page.waitForTimeout(600);
    await page.keyboard.press("l");
    assert((await combo()).active === "Later", `"l" after Normal: ${(await combo()).active}`);
    await page.keyboard.press("l");
    assert((await combo()).active === "Low", `"l" again wraps to Low: ${(await combo()).active}`);
    await page.keyboard.press("Home");
    await page.keyboard.press("Enter");
    assert((await combo()).value === "low", "Home then Enter");
    await page.keyboard.press("End");
    now = await combo();
    assert(now.expanded === "true" && now.active === "Later", `End on the closed select opens at the last option: ${JSON.stringify(now)}`);
    await page.keyboard.press("Escape");
    await page.keyboard.press("Alt+ArrowDown");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Tab");
    now = await combo();
    assert(now.value === "normal" && now.expanded === "false", `Tab takes the highlighted option: ${JSON.stringify(now)}`);
    assert((await focusedIn()) === "notify", `Tab moved on to ${await focusedIn()}`);
  });

  await check("alga-select: the mouse opens and chooses; disabled options and a disabled select refuse", async () => {
    await page.click("#priority [role=combobox]");
    assert((await combo()).expanded === "true", "a click opens");
    // Playwright itself sees aria-disabled; force the click to prove the component refuses it too.
    await page.click("#priority [role=option]:text-is('Urgent')", { force: true });
    assert((await combo()).expanded === "true" && (await combo()).value === "normal", "a disabled option cannot be chosen");
    await page.click("#priority [role=option]:text-is('High')");
    let now = await combo();
    assert(now.value === "high" && now.expanded === "false" && (await focusedIn()) === "priority", `clicked High: ${JSON.stringify(now)}, focus ${await focusedIn()}`);
    await page.evaluate(() => document.getElementById("priority").setAttribute("disabled", ""));
    const disabled = await page.evaluate(() => {
      const control = document.querySelector("#priority [role=combobox]");
      return [control.tabIndex, control.getAttribute("aria-disabled"), new FormData(document.getElementById("ticket-form")).has("priority")];
    });
    assert(same(disabled, [-1, "true", false]), `disabled select ${JSON.stringify(disabled)}`);
    await page.click("#priority [role=combobox]", { force: true });
    assert((await combo()).expanded === "false", "a disabled select does not open");
    await page.evaluate(() => document.getElementById("priority").removeAttribute("disabled"));
    now = await combo();
    assert(now.value === "high", `re-enabled ${JSON.stringify(now)}`);
    // A disabled fieldset disables it too (ElementInternals' formDisabledCallback).
    const fieldset = await page.evaluate(() => {
      const form = document.createElement("form");
      form.innerHTML = '<fieldset disabled><alga-select name="x" label="X"><option value="a">A</option></alga-select></fieldset>';
      document.querySelector("main").append(form);
      const control = form.querySelector("[role=combobox]");
      const out = [control.tabIndex, new FormData(form).has("x")];
      form.querySelector("fieldset").disabled = false;
      out.push(control.tabIndex, new FormData(form).get("x"));
      form.remove();
      return out;
    });
    assert(same(fieldset, [-1, false, 0, "a"]), `in a disabled fieldset, then enabled: ${JSON.stringify(fieldset)}`);
  });

  await check("alga-select: the list opens upwards when there is no room below, downwards otherwise", async () => {
    const openAt = (edge) =>
      page.evaluate(async (where) => {
        const select = document.getElementById("priority");
        const control = select.querySelector("[role=combobox]");
        // Puts the control 20px from the viewport's bottom or top edge.
        const box = control.getBoundingClientRect();
        window.scrollBy(0, where === "bottom" ? box.bottom - window.innerHeight + 20 : box.top - 20);
        select.open();
        const list = select.querySelector("[role=listbox]").getBoundingClientRect();
        const now = control.getBoundingClientRect();
        const out = { up: select.classList.contains("alga-select--up"), below: list.top >= now.bottom, above: list.bottom <= now.top, roomBelow: window.innerHeight - now.bottom, listHeight: list.height };
        select.close();
        return out;
      }, edge);
    const low = await openAt("bottom");
    assert(low.roomBelow < low.listHeight, `the setup left room below: ${JSON.stringify(low)}`);
    assert(low.up && low.above, `near the bottom: ${JSON.stringify(low)}`);
    const high = await openAt("top");
    assert(!high.up && high.below, `near the top: ${JSON.stringify(high)}`);
  });

  await check("alga-checkbox: Space toggles, the mixed state ends when the user decides; the form submits every value and resets", async () => {
    await page.focus("#notify input");
    await page.keyboard.press("Space");
    assert(!(await page.evaluate(() => document.getElementById("notify").checked)), "Space unchecks");
    await page.keyboard.press("Tab");
    assert((await focusedIn()) === "all", `Tab reaches the next checkbox, not ${await focusedIn()}`);
    await page.keyboard.press("Space");
    const all = await page.evaluate(() => {
      const box = document.getElementById("all");
      return [box.checked, box.control.indeterminate, box.hasAttribute("indeterminate")];
    });
    assert(same(all, [true, false, false]), `mixed → checked: ${JSON.stringify(all)}`);
    await page.focus("#submit");
    await page.keyboard.press("Enter");
    const submitted = (await events()).filter((e) => e.startsWith("submitted")).pop();
    const expected = [["title", "Printer on fire"], ["email", ""], ["hours", "3"], ["password", ""], ["priority", "high"], ["all", "on"]];
    assert(submitted === `submitted ${JSON.stringify(expected)}`, `form data: ${submitted}`);
    await page.focus("#reset");
    await page.keyboard.press("Enter");
    const reset = await page.evaluate(() => ({
      title: document.getElementById("title").value,
      hours: document.getElementById("hours").value,
      priority: document.getElementById("priority").value,
      shown: document.querySelector("#priority [role=combobox]").textContent,
      notify: document.getElementById("notify").checked,
      all: document.getElementById("all").checked,
    }));
    assert(same(reset, { title: "", hours: "2", priority: "", shown: "Choose a priority", notify: true, all: false }), `after reset ${JSON.stringify(reset)}`);
  });
}
