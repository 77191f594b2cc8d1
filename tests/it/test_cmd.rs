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
      { "method": "GET", "path": "/first-ticket", "handler": "firstTicket" },
      { "method": "GET", "path": "/boom", "handler": "boom" }
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
export function boom() {
  console.warn("about to fail");
  throw new TypeError("kaboom");
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
fn a_failing_tests_console_output_and_the_handlers_error_show_under_it() {
    let dir = tempfile::tempdir().unwrap();
    let test = r#"import { test, expect, call } from "@alga/test";
test("calls a handler that throws", async () => {
  console.log("calling /boom");
  expect((await call("GET", "/boom")).status).toBe(200);
});
"#;
    write(dir.path(), &[("manifest.json", MANIFEST), ("src/index.js", INDEX), ("boom.test.js", test)]);
    let (output, stdout) = alga_ext_test(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(1));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[1], "FAIL boom.test.js:4:3  calls a handler that throws: expected 200, received 500", "{stdout}");
    assert_eq!(lines[2], "     | test info: calling /boom", "{stdout}");
    assert_eq!(lines[3], "     | extension warn: about to fail", "{stdout}");
    assert!(lines[4].starts_with("     | runtime EXTENSION_ERROR: ") && lines[4].contains("TypeError: kaboom"), "{stdout}");
    assert!(stdout.contains("at boom (src/index.js:14:9)"), "the handler's frame names its file: {stdout}");
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

/// The fenced code blocks of a Markdown text: (language, content).
fn fenced_blocks(markdown: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in markdown.lines() {
        match (line.strip_prefix("```"), open.take()) {
            (Some(_), Some(block)) => blocks.push(block),
            (Some(lang), None) => open = Some((lang.trim().to_owned(), String::new())),
            (None, Some((lang, mut text))) => {
                text.push_str(line);
                text.push('\n');
                open = Some((lang, text));
            }
            (None, None) => {}
        }
    }
    blocks
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(&name));
        } else if !alga_bundle::pack::is_test_file(&name) {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

#[test]
fn the_test_examples_of_the_docs_pass_against_the_sample() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo.join("samples/ticket-tags"), dir.path());
    let mut written = Vec::new();
    for doc in ["docs/testing.md", "README.md"] {
        let text = std::fs::read_to_string(repo.join(doc)).unwrap();
        for (lang, block) in fenced_blocks(&text) {
            if matches!(lang.as_str(), "js" | "ts") && block.contains("from \"@alga/test\"") {
                let name = format!("example-{}.test.{lang}", written.len() + 1);
                std::fs::write(dir.path().join(&name), block).unwrap();
                written.push(format!("{doc}: {name}"));
            }
        }
    }
    assert!(written.len() >= 8, "the docs lost their examples: {written:?}");
    let (output, stdout) = alga_ext_test(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(0), "{written:?}\n{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(!stdout.contains("FAIL") && stdout.contains(" passed, 0 failed"), "{stdout}");
}

/// Every check of `expect` passing and failing as docs/testing.md describes; each test
/// asserts on the AssertionError a wrong expectation throws, so all of them pass.
const EXPECT_SEMANTICS: &str = r#"import { test, expect, AssertionError } from "@alga/test";

const fails = (f, message) => expect(f).toThrow(message === undefined ? AssertionError : message);

test("toBe is Object.is", () => {
  expect(NaN).toBe(NaN);
  expect(0).not.toBe(-0);
  fails(() => expect(201).toBe(403), "expected 403, received 201");
  fails(() => expect("a").not.toBe("a"), 'expected a value other than "a"');
});

test("toEqual compares deeply and ignores undefined properties", () => {
  expect({ a: [1, { b: new Date(5) }], c: undefined }).toEqual({ a: [1, { b: new Date(5) }] });
  expect(new Map([[1, { x: 1 }]])).toEqual(new Map([[1, { x: 1 }]]));
  expect(new Uint8Array([1, 2])).toEqual(new Uint8Array([1, 2]));
  fails(() => expect([1, 2]).toEqual([1, 2, 3]), "expected (deeply equal) [1,2,3], received [1,2]");
  fails(() => expect({ a: 1 }).toEqual({ a: "1" }));
  fails(() => expect(new Set([1])).toEqual([1]));
});

test("toMatchObject needs every property of the subset", () => {
  expect({ a: 1, b: { c: 2, d: 3 } }).toMatchObject({ b: { c: 2 } });
  fails(() => expect({ a: 1 }).toMatchObject({ a: 1, b: 2 }), 'expected {"a":1} to match {"a":1,"b":2}');
});

test("truthiness, null, undefined, numbers, length, text", () => {
  expect(1).toBeTruthy();
  expect("").toBeFalsy();
  expect(null).toBeNull();
  expect(undefined).toBeUndefined();
  expect(0).toBeDefined();
  expect(2).toBeGreaterThan(1);
  expect(1).toBeLessThan(2);
  expect("abc").toHaveLength(3);
  expect("Printer on fire").toMatch(/fire$/);
  expect("Printer on fire").toMatch("on");
  fails(() => expect(0).toBeTruthy(), "expected a truthy value, received 0");
  fails(() => expect(undefined).toBeDefined(), "expected a defined value, received undefined");
  fails(() => expect([1]).toHaveLength(2), "expected length 2, received length 1");
  fails(() => expect(5).toMatch(/5/));
});

test("toContain looks into strings and iterables", () => {
  expect("tickets:read").toContain(":");
  expect(new Set(["a"])).toContain("a");
  expect([{ a: 1 }]).not.toContain({ a: 1 });
  fails(() => expect([1, 2]).toContain(3), "expected [1,2] to contain 3");
});

test("toThrow checks the message, a RegExp, a class or an object", () => {
  const boom = () => { throw new RangeError("tag names have 1 to 40 characters"); };
  expect(boom).toThrow();
  expect(boom).toThrow("1 to 40");
  expect(boom).toThrow(/^tag names/);
  expect(boom).toThrow(RangeError);
  expect(boom).toThrow({ name: "RangeError" });
  expect(() => 1).not.toThrow();
  fails(() => expect(boom).toThrow(TypeError), "expected the function to throw a TypeError, but it threw RangeError: tag names have 1 to 40 characters");
  fails(() => expect(() => 1).toThrow(), "expected the function to throw, but it returned normally");
  expect(() => expect(1).toThrow()).toThrow(TypeError);
});

test("resolves and rejects wait for the promise", async () => {
  await expect(Promise.resolve({ a: 1 })).resolves.toEqual({ a: 1 });
  await expect(Promise.reject(new Error("no such ticket"))).rejects.toThrow("no such ticket");
  await expect(Promise.reject({ code: "HTTP_ERROR", status: 404 })).rejects.toMatchObject({ status: 404 });
  await expect(expect(Promise.resolve(1)).rejects.toThrow()).rejects.toThrow("expected the promise to reject, but it resolved to 1");
  await expect(expect(Promise.reject(new Error("x"))).resolves.toBe(1)).rejects.toThrow("expected the promise to resolve, but it rejected with Error: x");
  await expect(expect(Promise.reject(new Error("x"))).rejects.toThrow("y")).rejects.toThrow(AssertionError);
});

test("tests cannot be declared while one runs", () => {
  expect(() => test("late", () => {})).toThrow("declare tests at the top level");
});
"#;

#[test]
fn expect_checks_pass_and_fail_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("manifest.json", MANIFEST), ("src/index.js", INDEX), ("expect.test.js", EXPECT_SEMANTICS)]);
    let (output, stdout) = alga_ext_test(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.ends_with("8 passed, 0 failed\n"), "{stdout}");
}

/// This test binary never runs `alga-ext test`, so it is a server as far as the loader knows:
/// an isolate here cannot import the test API (installs refuse such imports before that).
#[tokio::test(flavor = "current_thread")]
async fn a_server_isolate_cannot_import_the_test_api() {
    use alga_ext::isolate::{Isolate, IsolateError};
    assert!(alga_ext::test_api::offered().is_none());
    let mut files = alga_bundle::Files::new();
    files.insert("index.js".into(), alga_bundle::BundleFile::new(b"import { test } from \"@alga/test\";\nexport const t = test;\n".to_vec()));
    let identity = alga_ops::ExtensionIdentity { tenant: "acme".into(), extension: "com.example.x".into() };
    let mut isolate = Isolate::new(identity, Default::default(), Some(std::sync::Arc::new(files)), Default::default()).unwrap();
    let err = isolate.load_main("index.js").await.unwrap_err();
    assert!(matches!(&err, IsolateError::Script(m) if m.contains("\"@alga/test\" is not allowed")), "{err}");
}

#[test]
fn a_tests_ctx_follows_settings_hooks_run_and_widgets_and_pages_can_be_called() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = r#"{ "id": "com.example.settled", "name": "Settled", "version": "1.0.0", "main": "src/index.js",
        "permissions": ["storage:read", "storage:write"],
        "assets": ["ui/**"],
        "userPermissions": [{ "name": "view", "defaultRoles": ["admin"] }],
        "settings": [{ "key": "greeting", "type": "string", "label": "Greeting", "default": "hello" }],
        "extensionPoints": {
            "dashboardWidgets": [
                { "id": "greeting", "title": "Greeting", "handler": "greetingWidget", "size": "small" },
                { "id": "broken", "title": "Broken", "handler": "broken", "size": "small" }
            ],
            "pages": [
                { "path": "/hello/:name", "handler": "helloPage", "title": "Hello", "permission": "view" },
                { "path": "/about", "entry": "ui/about.html", "title": "About" }
            ]
        } }"#;
    let index = r#"
export async function greetingWidget(_request, ctx) { return { greeting: (await ctx.settings.get()).greeting, user: ctx.user.id }; }
export function broken() { throw new Error("no data"); }
export async function helloPage(request, ctx) { return `<h1>${(await ctx.settings.get("greeting"))}, ${request.params.name} (${request.query.mood ?? "calm"})</h1>`; }
"#;
    let test = r#"import { test, expect, setSettings, widget, page, beforeEach, afterEach } from "@alga/test";
let runs = 0;
beforeEach(async (ctx) => { runs += 1; await ctx.storage.set("before", runs); });
afterEach(async (ctx) => { expect(await ctx.storage.get("before")).toBe(runs); });
test("the default at first", async (ctx) => { expect((await ctx.settings.get()).greeting).toBe("hello"); });
test("an admin changes it and the same test's ctx sees it", async (ctx) => {
  await setSettings({ greeting: "welcome" });
  expect(await ctx.settings.get("greeting")).toBe("welcome");
  expect((await ctx.settings.get()).greeting).toBe("welcome");
});
test("the next test's ctx sees it", async (ctx) => { expect((await ctx.settings.get()).greeting).toBe("welcome"); });
test("beforeEach ran before every test", async (ctx) => { expect(await ctx.storage.get("before")).toBe(4); });
test("a value read from storage equals a plain object", async (ctx) => {
  await ctx.storage.set("k", { a: 1, b: [1, { c: 2 }] });
  expect(await ctx.storage.get("k")).toEqual({ a: 1, b: [1, { c: 2 }] });
  expect(await ctx.storage.get("k")).not.toEqual({ a: 2, b: [1, { c: 2 }] });
});
test("a widget renders as the dashboard gets it", async () => {
  const res = await widget("greeting");
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ state: "ok", data: { greeting: "welcome", user: "tester" } });
  expect((await widget("broken")).body).toMatchObject({ state: "error" });
  expect((await widget("nope")).status).toBe(404);
});
test("a handler page renders for its user, a static one is served", async () => {
  const res = await page("/hello/ada", { query: { mood: "glad" } });
  expect(res.status).toBe(200);
  expect(res.body).toBe("<h1>welcome, ada (glad)</h1>");
  expect(res.headers["content-type"]).toMatch(/^text\/html/);
  expect(res.page.kind).toBe("handler");
  const about = await page("/about");
  expect([about.status, about.page.kind]).toEqual([200, "static"]);
  expect(about.body).toMatch(/About us/);
  const refused = await page("/hello/ada", { roles: ["client"] });
  expect([refused.status, refused.body.error.code, refused.page]).toEqual([403, "FORBIDDEN", null]);
});
"#;
    write(
        dir.path(),
        &[
            ("manifest.json", manifest),
            ("src/index.js", index),
            ("ui/about.html", "<!doctype html><title>About</title><h1>About us</h1>\n"),
            ("settings.test.js", test),
        ],
    );
    let (output, stdout) = alga_ext_test(Path::new("/"), &[dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.ends_with("7 passed, 0 failed\n"), "{stdout}");
}
