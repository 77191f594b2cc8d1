// attack: forges server log lines with newlines, carriage returns and terminal escapes
// expect: 200
// log-contains: \n2026-01-01T00:00:00.000000Z  INFO forged
export function attack(request, ctx) {
  console.log("innocent\n2026-01-01T00:00:00.000000Z  INFO forged: admin password reset");
  ctx.log.warn("\r\u001b[2Koverwritten\u2028line");
  return "done";
}
