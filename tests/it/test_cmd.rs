//! `alga-ext test` as an author runs it: the binary on a fixture extension, its report lines,
//! the failing assertion's file:line:col, syntax errors located, and the exit code.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const MANIFEST: &str = r#"{
  "id": "com.example.counter",
  "name": "Counter",
  "version": "1.0.0",
  "main": "src/index.js",
  "permissions": ["storage:read", "storage:write", "tickets:read"],
  "userPermissions": [{ "name": "bump", "description": "Bump the counter", "defaultRoles": ["admin"] }],
  "extensionPoints": {
    "endpoints": [
      { "method": "POST", "path": "/bump", "handler": "bump", "permission": "bump" },
      { "method": "GET", "path": "/first-ticket", "handler": "firstTicket" }
    ]
  }
}"#;

const INDEX: &str = r#"
export async function bump(_request, ctx) {
  const next = ((await ctx.storage.get("count")) ?? 0) + 1;
  await ctx.storage.set("count", next);
  console.log(`count is now ${next}`);
  return { body: { count: next } };
}
export async function firstTicket(_request, ctx) {
  const page = await ctx.api.get("/api/v1/tickets", { query: { limit: 1 } });
  return { body: page.data[0] };
}
"#;

/// One test file with a passing and a failing test; the failing `expect` is on line 11.
const COUNTER_TEST: &str = r#"import { test, expect, call } from "@alga/test";

test("bumps the counter through the endpoint", async (ctx) => {
  expect((await call("POST", "/bump")).body).toEqual({ count: 1 });
  expect(await ctx.storage.get("count")).toBe(1);
  expect((await call("GET", "/first-ticket")).body.id).toBe("t-1001");
});

test("a guest may bump too (it may not)", async () => {
  const res = await call("POST", "/bump", { user: "guest", roles: ["client"] });
  expect(res.status).toBe(200);
});
"#;

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// Runs `alga-ext test <args>` in `cwd`, with no `ALGA_EXT_*` settings from the environment.
fn alga_ext_test(cwd: &Path, args: &[&str]) -> (Output, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alga-ext"));
    cmd.current_dir(cwd).stdin(Stdio::null()).arg("test").args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("ALGA_EXT_") || name == "NO_COLOR" {
            cmd.env_remove(name);
        }
    }
    let output = cmd.output().expect("run alga-ext test");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

#[test]
fn a_failing_test_is_reported_at_its_expect_and_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("manifest.json", MANIFEST), ("src/index.js", INDEX), ("tests/counter.test.js", COUNTER_TEST)]);
    let (output, stdout) = alga_ext_test(dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "com.example.counter 1.0.0 (.): 1 test file",
            lines[1],
            "FAIL tests/counter.test.js:11:3  a guest may bump too (it may not): expected 200, received 403",
            "1 passed, 1 failed",
        ],
        "stderr: {stderr}"
    );
    assert!(lines[1].starts_with("ok   tests/counter.test.js  bumps the counter through the endpoint ("), "{stdout}");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr.trim(), "error: 1 failed (see above)");
}

#[test]
fn passing_tests_exit_zero_and_each_file_gets_fresh_storage() {
    let dir = tempfile::tempdir().unwrap();
    // Two files bumping the same counter: each starts from an empty store.
    let test = r#"import { test, expect, call } from "@alga/test";
test("the first bump of this file counts 1", async () => {
  expect((await call("POST", "/bump")).body.count).toBe(1);
});
test.skip("not run", () => { throw new Error("a skipped test ran"); });
"#;
    let ts = r#"import { test, expect, call } from "@alga/test";
interface Counted { count: number }
test("the first bump of this file counts 1", async () => {
  const body: Counted = (await call("POST", "/bump")).body;
  expect(body.count).toBe(1);
});
"#;
    write(
        dir.path(),
        &[("manifest.json", MANIFEST), ("src/index.js", INDEX), ("a.test.js", test), ("b.test.ts", ts), ("node_modules/x/y.test.js", "oops(")],
    );
    let (output, stdout) = alga_ext_test(Path::new("/"), &[dir.path().to_str().unwrap(), "--logs"]);
    assert_eq!(output.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.ends_with("2 passed, 0 failed, 1 skipped\n"), "{stdout}");
    assert!(stdout.contains(&format!("skip {}/a.test.js  not run", dir.path().display())), "{stdout}");
    // --logs shows the extension's console output under passing tests too.
    assert_eq!(stdout.matches("| extension info: count is now 1").count(), 2, "{stdout}");
    assert!(!stdout.contains("node_modules"), "{stdout}");
}

#[test]
fn a_syntax_error_in_a_test_file_is_reported_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let broken = "import { test } from \"@alga/test\";\n\ntest(\"x\", () => {\n  const = 1;\n});\n";
    write(dir.path(), &[("manifest.json", MANIFEST), ("src/index.js", INDEX), ("broken.test.js", broken)]);
    let (output, stdout) = alga_ext_test(dir.path(), &[]);
    assert_ne!(output.status.code(), Some(0));
    let fail = stdout.lines().find(|l| l.starts_with("FAIL")).unwrap_or_else(|| panic!("no FAIL line: {stdout}"));
    assert!(fail.starts_with("FAIL broken.test.js:4:9: "), "{fail}");
    assert!(stdout.ends_with("0 passed, 1 failed\n"), "{stdout}");
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (output, stdout) = alga_ext_test(dir.path(), &[]);
    assert_ne!(output.status.code(), Some(0));
    assert!(stdout.starts_with("FAIL .: no manifest.json here"), "{stdout}");

    write(dir.path(), &[("manifest.json", MANIFEST), ("src/index.js", INDEX)]);
    let (_, stdout) = alga_ext_test(dir.path(), &[]);
    assert!(stdout.starts_with("FAIL .: no test files (*.test.js, *.test.ts)"), "{stdout}");

    write(dir.path(), &[("src/index.js", "export function bump( {"), ("a.test.js", COUNTER_TEST)]);
    let (output, stdout) = alga_ext_test(dir.path(), &[]);
    assert_ne!(output.status.code(), Some(0));
    assert!(stdout.contains("the extension does not pass validation"), "{stdout}");
    assert!(stdout.contains("src/index.js:1:"), "the module's problem is located: {stdout}");

    let (output, _) = alga_ext_test(dir.path(), &["--timeout", "0s"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--timeout") && stderr.contains("outside 1ms..10min"), "{stderr}");
}
