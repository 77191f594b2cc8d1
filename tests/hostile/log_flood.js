// attack: writes 20 MB of log lines from one request (one request used to write ~20 MB of server log)
// expect: 200
// logs: 201 70000
// log-contains: log output truncated
export function attack() {
  const line = "x".repeat(1000);
  for (let i = 0; i < 20000; i++) console.log(line);
  return "done";
}
