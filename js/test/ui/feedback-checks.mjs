//! The browser suite's checks of the feedback components (alga-skeleton, toasts) and of the newer components' light and dark looks; run by ui-checks.mjs.
import { join } from "node:path";

/** Registers the skeleton, toast and color-scheme checks with the runner's `check`, on the already opened fixture `page`. */
export async function feedbackChecks({ check, assert, waitFor, page, events, outputDir }) {
  const same = (actual, expected) => JSON.stringify(actual) === JSON.stringify(expected);
  const focused = () =>
    page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return "body";
      const toast = el.closest("alga-toast");
      if (toast) return `toast:${toast.getAttribute("tone")}${el === toast ? "" : `>${el.className}`}`;
      return el.closest("[id]") ? el.closest("[id]").id : el.localName;
    });
  const toasts = () =>
    page.evaluate(() =>
      [...document.querySelectorAll("#toasts alga-toast")].map((toast) => ({
        tone: toast.getAttribute("tone"),
        live: toast.parentElement.getAttribute("aria-live"),
        text: toast.querySelector(".alga-toast__body").textContent,
      })),
    );
  const clearToasts = () => page.evaluate(() => document.getElementById("toasts").toasts().forEach((toast) => toast.dismiss()));

  await check("alga-skeleton: bones hidden from assistive technology inside a named status; the shimmer stops for reduced motion", async () => {
    const facts = await page.evaluate(() => {
      const bones = (id) => [...document.getElementById(id).children];
      return {
        lines: bones("skeleton").length,
        hidden: bones("skeleton").every((bone) => bone.getAttribute("aria-hidden") === "true"),
        shapes: ["avatar", "block"].map((id) => [bones(id).length, Math.round(bones(id)[0].getBoundingClientRect().height)]),
        circle: getComputedStyle(bones("avatar")[0]).borderRadius,
        animation: getComputedStyle(bones("skeleton")[0]).animationName,
      };
    });
    assert(facts.lines === 3 && facts.hidden && facts.animation === "alga-shimmer", JSON.stringify(facts));
    assert(same(facts.shapes, [[1, 40], [1, 96]]) && facts.circle === "50%", `circle and block ${JSON.stringify(facts)}`);
    assert((await page.getByRole("status", { name: "Loading comments", exact: true }).count()) === 1, "no status named Loading comments");
    const animation = () => page.evaluate(() => getComputedStyle(document.querySelector("#skeleton > *")).animationName);
    await page.emulateMedia({ reducedMotion: "reduce" });
    const reduced = await animation();
    await page.emulateMedia({ reducedMotion: "no-preference" });
    assert(reduced === "none" && (await animation()) === "alga-shimmer", `reduced motion: ${reduced}`);
    // Pages hide the placeholder with `hidden` once the content is there: it must really go.
    const hiddenHeight = await page.evaluate(() => {
      const skeleton = document.getElementById("skeleton");
      skeleton.hidden = true;
      const height = skeleton.getBoundingClientRect().height;
      skeleton.hidden = false;
      return height;
    });
    assert(hiddenHeight === 0, `a hidden skeleton is ${hiddenHeight}px tall`);
  });

  await check("alga-toast: polite or assertive by tone, focus stays put; F8 reaches the newest, Escape dismisses and focus returns", async () => {
    await page.focus("#toast-success");
    await page.keyboard.press("Enter");
    await page.focus("#toast-danger");
    await page.keyboard.press("Enter");
    const shown = await toasts();
    assert(
      same(shown, [
        { tone: "danger", live: "assertive", text: "Save failedThe ticket could not be saved: the server is away." },
        { tone: "success", live: "polite", text: "Ticket saved." },
      ]),
      `toasts ${JSON.stringify(shown)}`,
    );
    assert((await focused()) === "toast-danger", `showing a toast moved focus to ${await focused()}`);
    await page.keyboard.press("F8");
    assert((await focused()) === "toast:danger", `F8 went to ${await focused()}`);
    await page.keyboard.press("Tab");
    assert((await focused()) === "toast:danger>alga-toast__dismiss", `Tab inside the toast: ${await focused()}`);
    await page.keyboard.press("Escape");
    assert((await focused()) === "toast:success", `after dismissing, focus went to ${await focused()}`);
    await page.keyboard.press("Escape");
    assert((await focused()) === "toast-danger", `focus returned to ${await focused()}`);
    assert((await toasts()).length === 0, "both dismissed");
    const dismissed = (await events()).filter((e) => e.startsWith("toast dismissed"));
    assert(same(dismissed, ["toast dismissed: user", "toast dismissed: user"]), `dismiss events ${JSON.stringify(dismissed)}`);
  });

  await check("alga-toast: it times out, but not while the pointer or focus is on it; text only; bad options throw in words; at most five", async () => {
    await page.evaluate(() => window.uiTest.AlgaToast.show("Copied.", { timeout: 300 }));
    await waitFor("the toast to time out", async () => (await toasts()).length === 0, 3000);
    assert((await events()).includes("toast dismissed: timeout"), "timeout reason");
    // Long enough for the driver to get the pointer there (it waits for the slide-in to end) well before it runs out.
    await page.evaluate(() => window.uiTest.AlgaToast.show("Hovered.", { timeout: 1000 }));
    await page.hover("#toasts alga-toast");
    await page.waitForTimeout(1500);
    assert((await toasts()).length === 1, "a hovered toast timed out");
    await page.mouse.move(0, 0);
    await waitFor("the toast to time out once the pointer left", async () => (await toasts()).length === 0, 3000);
    await page.evaluate(() => window.uiTest.AlgaToast.show("Focused.", { timeout: 1000 }));
    await page.keyboard.press("F8");
    await page.waitForTimeout(1500);
    assert((await toasts()).length === 1, "a focused toast timed out");
    await page.keyboard.press("Escape");
    const markup = await page.evaluate(() => {
      const toast = window.uiTest.AlgaToast.show("<b>not bold</b>", { timeout: 0 });
      const out = [toast.querySelectorAll("b").length, toast.querySelector(".alga-toast__body").textContent];
      toast.dismiss();
      return out;
    });
    assert(same(markup, [0, "<b>not bold</b>"]), `the message is text: ${JSON.stringify(markup)}`);
    const refused = await page.evaluate(() =>
      [{ tone: "loud" }, { timeout: -1 }, { timeout: "soon" }].map((options) => {
        try {
          window.uiTest.AlgaToast.show("x", options);
          return "shown";
        } catch (err) {
          return `${err.name}: ${err.message}`;
        }
      }),
    );
    assert(refused[0] === 'TypeError: alga-toast: tone "loud" is not one of info, success, warning, danger', refused[0]);
    assert(refused.slice(1).every((message) => message.startsWith("TypeError: alga-toast: timeout must be a number of milliseconds")), JSON.stringify(refused));
    await page.evaluate(() => {
      for (let i = 1; i <= 7; i++) window.uiTest.AlgaToast.show(`Toast ${i}`, { timeout: 0 });
    });
    const stack = (await toasts()).map((toast) => toast.text);
    assert(same(stack, ["Toast 3", "Toast 4", "Toast 5", "Toast 6", "Toast 7"]), `the oldest make room: ${JSON.stringify(stack)}`);
    assert((await events()).filter((e) => e === "toast dismissed: overflow").length === 2, "two overflow dismissals");
    await clearToasts();
  });

  await check("the form controls, skeleton and toasts follow the color scheme; screenshots light and dark", async () => {
    await page.locator("#form-card").scrollIntoViewIfNeeded();
    await page.evaluate(() => {
      window.uiTest.AlgaToast.show("Ticket saved.", { tone: "success", timeout: 0 });
      window.uiTest.AlgaToast.show("The ticket could not be saved: the server is away.", { tone: "danger", title: "Save failed" });
      document.getElementById("title").setAttribute("error", "A ticket needs a title.");
      document.getElementById("notify").checked = true;
    });
    await page.focus("#priority [role=combobox]");
    await page.keyboard.press("ArrowDown");
    const colors = () =>
      page.evaluate(() => {
        const style = (selector) => getComputedStyle(document.querySelector(selector));
        return {
          input: style("#title input").backgroundColor,
          inputText: style("#title input").color,
          error: style("#title .alga-field__error").color,
          select: style("#priority [role=combobox]").backgroundColor,
          listbox: style("#priority [role=listbox]").backgroundColor,
          option: style("#priority [role=option][data-active]").backgroundColor,
          checkbox: style("#notify input").backgroundColor,
          skeleton: style("#skeleton > *").backgroundImage,
          toast: style("#toasts alga-toast").backgroundColor,
        };
      });
    await page.evaluate(() => window.uiTest.setColorScheme("light"));
    const light = await colors();
    // Finished animations: the toasts are drawn as they look once shown, not half faded in.
    await page.screenshot({ path: join(outputDir, "ui-forms-light.png"), animations: "disabled" });
    await page.evaluate(() => window.uiTest.setColorScheme("dark"));
    const dark = await colors();
    await page.screenshot({ path: join(outputDir, "ui-forms-dark.png"), animations: "disabled" });
    await page.evaluate(() => window.uiTest.setColorScheme("light"));
    for (const key of Object.keys(light)) assert(light[key] !== dark[key], `${key} stays ${light[key]} in dark`);
    assert(light.input === "rgb(255, 255, 255)" && light.checkbox === "rgb(124, 58, 237)", `light ${JSON.stringify(light)}`);
    await page.keyboard.press("Escape");
    await page.evaluate(() => document.getElementById("title").removeAttribute("error"));
    await clearToasts();
  });
}
