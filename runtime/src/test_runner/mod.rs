//! `alga-ext test [DIR...]`: runs an extension's `*.test.js` / `*.test.ts` files the way
//! the runtime runs the extension.
//!
//! For each test file: a fresh session (`session.rs`: temporary SQLite store, host API
//! simulator, the extension installed, approved and enabled for tenant `test`), then an
//! isolate that loads a generated main module importing the test file and re-exporting the
//! runner of `@alga/test` (`alga_test.js`). Rust calls `__algaTestList` once and
//! `__algaTestRun` once per test, each under its own time limit, and prints the outcome
//! (`report.rs`). `call()` in a test goes through the gateway (`gateway.rs`) into the real
//! router, so handlers run in the extension's own isolates with routing, RBAC and `ctx`.
//!
//! Invariant: `@alga/test` resolves only in this process's isolates once `run` started
//! (`crate::test_api`); a server never offers it, and bundles never contain test files
//! (`alga_bundle::pack::files_from_dir` leaves them out).

mod gateway;
mod report;
mod session;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use alga_bundle::pack::{files_from_dir, is_test_file, source_files_from_dir};
use alga_bundle::{BundleFile, BundleLimits, Files, InspectOptions, SourceProblem};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::cli::TestArgs;
use crate::isolate::{CtxData, Invocation, IsolateError, IsolateHandle};
use crate::test_api::SPECIFIER as TEST_MODULE;
use report::{Printer, Totals};
use session::Session;

/// The generated main module of a test isolate (not a file of the extension).
const MAIN: &str = "__alga_test_main__.js";
const LIST: &str = "__algaTestList";
const RUN: &str = "__algaTestRun";

/// Runs the tests of every directory; fails when a test failed or none ran.
pub async fn run(args: &TestArgs) -> anyhow::Result<()> {
    crate::test_api::offer(include_str!("alga_test.js"));
    let printer = Printer::new(args.logs);
    let mut totals = Totals::default();
    for dir in &args.dirs {
        run_extension(dir, args, &printer, &mut totals).await;
    }
    printer.summary(&totals);
    if totals.failed > 0 {
        anyhow::bail!("{} failed (see above)", totals.failed);
    }
    if totals.passed == 0 {
        match &args.filter {
            Some(filter) if totals.filtered > 0 => anyhow::bail!("no test's name contains {filter:?} (--filter)"),
            _ => anyhow::bail!("no test ran"),
        }
    }
    Ok(())
}

/// An extension ready to test: its bundle (tests left out) and every source file.
struct Prepared {
    zip: Vec<u8>,
    sources: Files,
    tests: Vec<String>,
}

fn prepare(dir: &Path) -> Result<(Prepared, String), String> {
    if !dir.is_dir() {
        return Err("is not a folder; give the folder of an extension (the one holding manifest.json)".into());
    }
    if !dir.join("manifest.json").is_file() {
        return Err("no manifest.json here; alga-ext test runs in an extension's folder (or give its path)".into());
    }
    let limits = BundleLimits::default();
    let sources = source_files_from_dir(dir, &limits).map_err(|e| format!("cannot read the extension: {e}"))?;
    let tests: Vec<String> = sources.keys().filter(|path| is_test_file(path)).cloned().collect();
    if tests.is_empty() {
        return Err("no test files (*.test.js, *.test.ts) in this folder or below".into());
    }
    // The bundle as `pack` makes it: test modules and what `.algaignore` lists left out.
    let bundle = files_from_dir(dir, &limits).map_err(|e| format!("cannot read the extension: {e}"))?;
    let inspection = alga_bundle::inspect_files(bundle, None, &InspectOptions::default())
        .map_err(|e| format!("the extension does not pass validation:\n{}", crate::bundle_cli::problem_lines(&e).join("\n")))?;
    let heading = format!(
        "{} {} ({}): {} test file{}",
        inspection.manifest.id,
        inspection.manifest.version,
        dir.display(),
        tests.len(),
        if tests.len() == 1 { "" } else { "s" }
    );
    let zip = alga_bundle::pack::zip_files(&inspection.files, |_, _| {}).map_err(|e| format!("cannot pack the extension: {e}"))?;
    Ok((Prepared { zip, sources, tests }, heading))
}

async fn run_extension(dir: &Path, args: &TestArgs, printer: &Printer, totals: &mut Totals) {
    let (prepared, heading) = match prepare(dir) {
        Ok(prepared) => prepared,
        Err(message) => {
            printer.fail(&dir.display().to_string(), None, &message, &[]);
            totals.failed += 1;
            return;
        }
    };
    printer.extension(&heading);
    for file in &prepared.tests {
        run_file(dir, &prepared, file, args, printer, totals).await;
    }
}

/// A path of the extension as the user can open it from where they ran the command.
fn shown(dir: &Path, path: &str) -> String {
    if dir == Path::new(".") {
        path.to_owned()
    } else {
        format!("{}/{path}", dir.display().to_string().trim_end_matches('/'))
    }
}

/// What `__algaTestList` answers per test.
#[derive(Deserialize)]
struct Listed {
    name: String,
    skip: bool,
}

/// What `__algaTestRun` answers.
#[derive(Deserialize)]
struct Outcome {
    ok: bool,
    ms: u64,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    stack: Option<String>,
}

async fn run_file(dir: &Path, prepared: &Prepared, file: &str, args: &TestArgs, printer: &Printer, totals: &mut Totals) {
    let here = shown(dir, file);
    // A test file that does not parse, or imports what is not there, is reported at its
    // line before anything starts.
    if let Some(source) = prepared.sources.get(file) {
        if let Err(problems) = check_module(file, source, &prepared.sources) {
            for p in problems {
                printer.fail(&format!("{}:{}:{}", shown(dir, file), p.line, p.column), None, &p.message, &[]);
            }
            totals.failed += 1;
            return;
        }
    }
    let failed_file = |printer: &Printer, totals: &mut Totals, place: &str, message: &str, logs: &[String]| {
        printer.fail(place, None, message, logs);
        totals.failed += 1;
    };
    let session = match Session::start(&prepared.zip).await {
        Ok(session) => session,
        Err(e) => return failed_file(printer, totals, &here, &format!("cannot set up the test run: {e:#}"), &[]),
    };
    let mut files = prepared.sources.clone();
    let main = format!("import {};\nexport {{ __list as {LIST}, __run as {RUN} }} from {};\n", json!(format!("./{file}")), json!(TEST_MODULE));
    files.insert(MAIN.to_owned(), BundleFile::new(main.into_bytes()));
    let handle = match session.test_isolate(Arc::new(files), MAIN.to_owned(), args.timeout).await {
        Ok(Ok(handle)) => handle,
        Ok(Err(err)) => {
            let message = match err {
                IsolateError::Script(message) => message,
                other => other.to_string(),
            };
            let (place, message) = located(dir, &here, &message);
            // The failed evaluation is also logged as an unhandled rejection: said once is enough.
            let logs: Vec<String> =
                logs_of(&session, dir).into_iter().filter(|l| !l.starts_with("test error: unhandled promise rejection")).collect();
            return failed_file(printer, totals, &place, &message, &logs);
        }
        Err(e) => return failed_file(printer, totals, &here, &format!("cannot start the test isolate: {e:#}"), &[]),
    };
    let ctx = match session.ctx().await {
        Ok(ctx) => ctx,
        Err(e) => return failed_file(printer, totals, &here, &format!("cannot build the test's ctx: {e:#}"), &[]),
    };
    let listed: Vec<Listed> = match invoke(&handle, LIST, json!({}), &ctx, args.timeout).await {
        Ok(value) => match serde_json::from_value(value) {
            Ok(listed) => listed,
            Err(e) => return failed_file(printer, totals, &here, &format!("internal: the test list is malformed: {e}"), &[]),
        },
        Err(message) => return failed_file(printer, totals, &here, &message, &logs_of(&session, dir)),
    };
    if listed.is_empty() {
        return failed_file(printer, totals, &here, "declares no tests (call test(name, fn) from \"@alga/test\")", &logs_of(&session, dir));
    }
    for (index, test) in listed.iter().enumerate() {
        if args.filter.as_ref().is_some_and(|filter| !test.name.contains(filter.as_str())) {
            totals.filtered += 1;
            continue;
        }
        if test.skip {
            printer.skip(&here, &test.name);
            totals.skipped += 1;
            continue;
        }
        session.take_logs();
        // Built again for each test, so what an earlier test set with setSettings() shows in
        // the next one's ctx (handlers always read the stored values).
        let ctx = match session.ctx().await {
            Ok(fresh) => fresh,
            Err(_) => ctx.clone(),
        };
        let request = json!({ "index": index, "gateway": session.gateway.url(), "file": file, "timeoutMs": args.timeout.as_millis() as u64 });
        let outcome = invoke(&handle, RUN, request, &ctx, args.timeout).await;
        let logs = logs_of(&session, dir);
        match outcome.map(serde_json::from_value::<Outcome>) {
            Ok(Ok(result)) if result.ok => {
                printer.ok(&here, &test.name, result.ms, &logs);
                totals.passed += 1;
            }
            Ok(Ok(result)) => {
                let place = result.location.as_deref().map_or_else(|| here.clone(), |l| shown(dir, l));
                let mut message = result.message.unwrap_or_default();
                message.push_str(&frames(dir, result.stack.as_deref().unwrap_or("")));
                printer.fail(&place, Some(&test.name), &message, &logs);
                totals.failed += 1;
            }
            Ok(Err(e)) => {
                printer.fail(&here, Some(&test.name), &format!("internal: the test's outcome is malformed: {e}"), &logs);
                totals.failed += 1;
            }
            Err(message) => {
                printer.fail(&here, Some(&test.name), &message, &logs);
                totals.failed += 1;
            }
        }
    }
}

/// Parses a test module the way an install parses modules (TypeScript transpiled too), and
/// checks that what it imports exists: the SDK, the test API, or a file of the folder.
fn check_module(path: &str, file: &BundleFile, sources: &Files) -> Result<(), Vec<SourceProblem>> {
    let problem = |line, column, message: String| SourceProblem { file: path.to_owned(), line, column, message };
    let source = std::str::from_utf8(&file.bytes).map_err(|_| vec![problem(1, 1, "the file is not valid UTF-8".into())])?;
    let info = alga_bundle::js::analyze(path, source)?;
    if path.ends_with(".ts") || path.ends_with(".mts") {
        alga_bundle::ts::transpile_cached(path, source, &file.sha256)?;
    }
    let Ok(base) = deno_core::url::Url::parse(&format!("{BUNDLE_URL}{path}")) else { return Ok(()) };
    let mut problems = Vec::new();
    for import in &info.imports {
        let specifier = import.specifier.as_str();
        if specifier == TEST_MODULE || specifier == alga_bundle::SDK_MODULE {
            continue;
        }
        let relative = specifier.starts_with("./") || specifier.starts_with("../");
        let target = base
            .join(specifier)
            .ok()
            .filter(|url| relative && url.scheme() == base.scheme())
            .map(|url| crate::simulator::percent_decode(url.path().trim_start_matches('/')));
        match target {
            None => problems.push(problem(
                import.line,
                import.column,
                format!("import {specifier:?} is not available: tests import \"{TEST_MODULE}\", \"{}\" or files of the extension's folder by relative path", alga_bundle::SDK_MODULE),
            )),
            Some(target) if !sources.contains_key(&target) => {
                problems.push(problem(import.line, import.column, format!("import {specifier:?} refers to {target:?}, which does not exist")))
            }
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Calls one runner export in the test isolate; a limit or crash comes back in words.
async fn invoke(handle: &IsolateHandle, handler: &str, request: Value, ctx: &Arc<CtxData>, timeout: Duration) -> Result<Value, String> {
    let invocation = Invocation { handler: handler.to_owned(), request: request.to_string(), ctx: ctx.clone(), is_page: false };
    let ms = timeout.as_millis();
    match handle.call(invocation).await {
        Ok(response) => {
            serde_json::from_slice(response.body.as_deref().unwrap_or(b"null")).map_err(|e| format!("internal: the runner answered no JSON: {e}"))
        }
        // The runner's own timer ends a test that waits; these end one that never yields.
        Err(IsolateError::CpuLimit { .. } | IsolateError::Timeout { .. }) => {
            Err(format!("did not finish within {ms} ms (--timeout) and never yielded (a loop that does not end?); the file's later tests cannot run"))
        }
        Err(IsolateError::MemoryLimit { limit_bytes }) => {
            Err(format!("used more than {} MiB of memory; the file's later tests cannot run", limit_bytes / (1024 * 1024)))
        }
        Err(IsolateError::Discarded) => Err("not run: an earlier test of this file ended its isolate".into()),
        Err(IsolateError::Script(message)) => Err(message),
        Err(e) => Err(e.to_string()),
    }
}

const BUNDLE_URL: &str = "alga-bundle:///";

/// The session's logs since the last call, module URLs turned into paths.
fn logs_of(session: &Session, dir: &Path) -> Vec<String> {
    session.take_logs().into_iter().map(|line| line.replace(BUNDLE_URL, &shown(dir, ""))).collect()
}

/// The first `file:line:col` an error message names (else `fallback`), and the message with
/// module URLs turned into paths the user can open.
fn located(dir: &Path, fallback: &str, message: &str) -> (String, String) {
    let place = message.find(BUNDLE_URL).map(|at| {
        let rest = &message[at + BUNDLE_URL.len()..];
        let end = rest.find(|c: char| c.is_whitespace() || c == ')').unwrap_or(rest.len());
        shown(dir, &rest[..end])
    });
    let cleaned = message.replace(BUNDLE_URL, &shown(dir, ""));
    (place.unwrap_or_else(|| fallback.to_owned()), cleaned)
}

/// The stack frames of an unexpected error that lie in the extension's files, as lines to
/// print under its message (at most five).
fn frames(dir: &Path, stack: &str) -> String {
    let lines: Vec<String> = stack
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("at ") && line.contains(BUNDLE_URL) && !line.contains(MAIN))
        .take(5)
        .map(|line| format!("\n  {}", line.replace(BUNDLE_URL, &shown(dir, ""))))
        .collect();
    lines.concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_and_frames_name_paths_the_user_can_open() {
        let dir = Path::new("samples/x");
        let (place, message) = located(dir, "samples/x/a.test.js", "Uncaught SyntaxError: oops\n    at alga-bundle:///tests/a.test.js:3:7");
        assert_eq!(place, "samples/x/tests/a.test.js:3:7");
        assert_eq!(message, "Uncaught SyntaxError: oops\n    at samples/x/tests/a.test.js:3:7");
        assert_eq!(located(Path::new("."), "a.test.js", "boom").0, "a.test.js");
        let stack = "TypeError: x\n    at f (alga-bundle:///src/index.js:4:2)\n    at alga-test:///test.js:9:1\n    at alga-bundle:///__alga_test_main__.js:1:1";
        assert_eq!(frames(dir, stack), "\n  at f (samples/x/src/index.js:4:2)");
    }
}
