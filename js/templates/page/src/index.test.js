// Tests of __NAME__, run by `alga-ext test`: the endpoints its page calls.
import { call, expect, setSettings, test } from "@alga/test";

test("the greeting names the user and counts no visits at first", async () => {
  const res = await call("GET", "/greeting", { user: "bob", roles: ["technician"] });
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ text: "Hello, bob!", visits: 0 });
});

test("visits are counted, and the greeting follows its setting", async () => {
  expect((await call("POST", "/visits")).body).toEqual({ visits: 1 });
  expect((await call("POST", "/visits")).body).toEqual({ visits: 2 });
  await setSettings({ greeting: "Welcome back" });
  const res = await call("GET", "/greeting");
  expect(res.body.text).toMatch(/^Welcome back, /);
  expect(res.body.visits).toBe(2);
});
