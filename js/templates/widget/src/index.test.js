// Tests of __NAME__, run by `alga-ext test`: the widget's handler against the host API simulator's tickets.
import { expect, test } from "@alga/test";
import { urgentTickets } from "./index.js";

test("the widget lists the open tickets, most urgent first", async (ctx) => {
  const res = await urgentTickets({}, ctx);
  const names = res.body.tickets.map((row) => row.name);
  expect(names.length).toBeGreaterThan(0);
  expect(names[0]).toContain("(critical)");
});

test("the number of rows follows the howMany setting", async (ctx) => {
  // A handler is a function of (request, ctx): give it a ctx whose settings say 1.
  const res = await urgentTickets({}, { api: ctx.api, settings: { get: async () => ({ howMany: 1 }) } });
  expect(res.body.tickets).toHaveLength(1);
});
