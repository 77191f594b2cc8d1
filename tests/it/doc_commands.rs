//! Every `sh` block of the operator, admin and host-integration docs, run as written against a
//! real `alga-ext serve`, so a command shown to a reader cannot rot unnoticed.
//!
//! How a doc is run: the test starts the built `alga-ext serve` on a free port with a fresh
//! folder as its working directory (so its default data dir, `alga-ext-data/`, is where the
//! docs say), then joins the doc's `sh` blocks, in order, into one `bash -euo pipefail`
//! script run in that folder: one shell, so a block may use what an earlier block of the same
//! doc set up (an installed sample, a captured id). The docs name their variables once, in
//! their first block (`RUNTIME`, `TOKEN`); the test provides only what a reader's shell would
//! hold: `alga-ext` on `PATH`, `ALGA_EXT_JWT_SECRET` set to the server's secret (the one
//! `serve --dev` printed, for the docs written against `--dev`), the repository's `samples/`
//! beside the script (as in a checkout), and for operations.md `ALGA_EXT_DATABASE_URL` naming a
//! PostgreSQL database this test creates and drops. The docs' default address,
//! `127.0.0.1:8787`, is replaced by the server's, and every proxy variable points at a closed
//! local port (with `127.0.0.1` and `localhost` exempt), so a command reaching any other host
//! fails instead of leaving the machine.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::PgTestDb;

/// The address the docs write for the server; each run puts its own server's there.
const DOC_ADDR: &str = "127.0.0.1:8787";

/// Fence labels that are shell by another name: a command in one would escape this test.
const SHELL_ALIASES: [&str; 6] = ["bash", "shell", "console", "zsh", "shell-session", "sh-session"];

/// One doc and what running it needs.
struct Doc {
    /// Relative to the repository root.
    path: &'static str,
    /// Fewer `sh` blocks than this means the doc lost commands (it fails, like getting-started's).
    min_blocks: usize,
    /// Whether the doc is written against `serve --dev` (whose printed secret the reader exports).
    dev: bool,
}

/// One `sh` block: the line of its opening fence (1-based) and its commands, unindented.
struct Block {
    line: usize,
    text: String,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `sh` blocks of a Markdown file, in order. Every fence must name its language, so
/// that a command cannot hide in a bare fence or behind a shell alias.
fn sh_blocks(path: &str, markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String, Option<Vec<String>>)> = None;
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        match &mut open {
            None if trimmed.starts_with("```") => {
                let label = trimmed.trim_start_matches('`').trim();
                assert!(!label.is_empty(), "{path}:{}: a fence without a language (use sh, text, json, …)", index + 1);
                assert!(!SHELL_ALIASES.contains(&label), "{path}:{}: `{label}` block; write `sh` so the test runs it", index + 1);
                open = Some((index + 1, indent.to_owned(), (label == "sh").then(Vec::new)));
            }
            None => {}
            Some((start, _, lines)) if trimmed.trim_end() == "```" => {
                if let Some(lines) = lines.take() {
                    blocks.push(Block { line: *start, text: lines.join("\n") });
                }
                open = None;
            }
            Some((_, indent, Some(lines))) => lines.push(line.strip_prefix(indent.as_str()).unwrap_or(line).to_owned()),
            Some(_) => {}
        }
    }
    assert!(open.is_none(), "{path}: a fence is never closed");
    blocks
}

/// The `curl` calls of a block that would let an HTTP error pass: every call needs `-f`,
/// `--fail` or `--fail-with-body`, so a refused request fails its block.
fn curls_without_fail(block: &str) -> Vec<String> {
    let joined = block.replace("\\\n", " ");
    let mut missing = Vec::new();
    for line in joined.lines().filter(|l| !l.trim_start().starts_with('#')) {
        for call in line.split("curl ").skip(1) {
            let args = call.split(['|', ')', ';', '>']).next().unwrap_or_default();
            let fails = args
                .split_whitespace()
                .any(|arg| arg == "--fail" || arg == "--fail-with-body" || (arg.starts_with('-') && !arg.starts_with("--") && arg.contains('f')));
            if !fails {
                missing.push(format!("curl {}", args.trim()));
            }
        }
    }
    missing
}

/// A running `alga-ext serve`, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    /// The secret tokens must be signed with.
    secret: String,
}

impl Server {
    /// Starts the server in `cwd` on a free port; with `dev`, it generates its secret and
    /// prints it, and the secret is read from what it printed, as a reader would.
    fn start(cwd: &Path, dev: bool) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_alga-ext"));
        cmd.current_dir(cwd).args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"]);
        for (name, _) in std::env::vars() {
            if name.starts_with("ALGA_EXT_") {
                cmd.env_remove(name);
            }
        }
        let mut secret = None;
        if dev {
            cmd.arg("--dev");
        } else {
            cmd.env("ALGA_EXT_JWT_SECRET", crate::support::SECRET);
            secret = Some(crate::support::SECRET.to_owned());
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        let started = crate::serve_process::spawn_and_wait(cmd);
        for line in &started.startup {
            if let Some(printed) = line.trim().strip_prefix("export ALGA_EXT_JWT_SECRET=") {
                secret = Some(printed.to_owned());
            }
        }
        let secret = secret.unwrap_or_else(|| panic!("serve --dev printed no secret:\n{}", started.startup.join("\n")));
        Server { child: started.child, addr: started.addr, secret }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs every `sh` block of `doc` against a fresh server; `database_url` is the PostgreSQL
/// database the doc's PostgreSQL commands use (as `ALGA_EXT_DATABASE_URL`).
fn run_doc(doc: &Doc, database_url: Option<&str>) {
    let markdown = std::fs::read_to_string(repo_root().join(doc.path)).unwrap();
    let blocks = sh_blocks(doc.path, &markdown);
    assert!(blocks.len() >= doc.min_blocks, "{} lost commands: {} sh blocks, expected at least {}", doc.path, blocks.len(), doc.min_blocks);

    // One set of names, stated once: the first block defines them and no later block
    // redefines them or writes the address again.
    let first = &blocks[0].text;
    assert!(
        first.contains(&format!("RUNTIME=http://{DOC_ADDR}")) && first.contains("TOKEN=$(alga-ext token "),
        "{}:{}: the first sh block must define RUNTIME and TOKEN",
        doc.path,
        blocks[0].line
    );
    for block in &blocks[1..] {
        let redefines = block.text.lines().any(|l| l.trim_start().starts_with("RUNTIME=") || l.trim_start().starts_with("TOKEN="));
        assert!(!redefines && !block.text.contains(DOC_ADDR), "{}:{}: use $RUNTIME and $TOKEN from the first block", doc.path, block.line);
    }
    for block in &blocks {
        let missing = curls_without_fail(&block.text);
        assert!(missing.is_empty(), "{}:{}: curl without -f lets an HTTP error pass: {missing:?}", doc.path, block.line);
    }

    let root = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(repo_root().join("samples"), root.path().join("samples")).unwrap();
    let server = Server::start(root.path(), doc.dev);
    let addr = server.addr.to_string();
    let mut script = String::new();
    for block in &blocks {
        // A marker on stderr before each block, so a failure names the block it came from.
        script.push_str(&format!("printf '\\n>>> {}:{}\\n' >&2\n{}\n", doc.path, block.line, block.text.replace(DOC_ADDR, &addr)));
    }

    let logs = tempfile::tempdir().unwrap();
    let log_path = logs.path().join("output.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_alga-ext")).parent().unwrap().to_owned();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut bash = Command::new("bash");
    bash.args(["-euo", "pipefail", "-c", &script])
        .current_dir(root.path())
        .env_clear()
        .env("PATH", path)
        .env("HOME", std::env::var("HOME").unwrap_or_else(|_| root.path().display().to_string()))
        .env("TMPDIR", root.path())
        .env("ALGA_EXT_JWT_SECRET", &server.secret)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        // Its own process group: whatever a block leaves running is killed with it.
        .process_group(0);
    for proxy in ["http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
        bash.env(proxy, "http://127.0.0.1:9");
    }
    for exempt in ["no_proxy", "NO_PROXY"] {
        bash.env(exempt, "127.0.0.1,localhost");
    }
    if let Some(url) = database_url {
        bash.env("ALGA_EXT_DATABASE_URL", url);
    }
    let mut child = bash.spawn().expect("bash");
    let group = child.id() as i32;
    // Not a timing assertion: a guard so that a command that never ends (a server, a
    // `--follow`) fails the test instead of hanging it.
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    unsafe { libc::kill(-group, libc::SIGKILL) };
    let _ = child.wait();
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    let block = output.lines().rev().find_map(|l| l.strip_prefix(">>> ")).unwrap_or("(before the first block)");
    match status {
        Some(status) if status.success() => {}
        Some(status) => panic!("the sh block at {block} failed ({status}); the output's end:\n{}", tail(&output, 60)),
        None => panic!("the sh block at {block} still runs after 10 minutes; the output's end:\n{}", tail(&output, 60)),
    }
    drop(server);
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[test]
fn the_operations_commands_work_as_written() {
    let db = tokio::runtime::Runtime::new().unwrap().block_on(PgTestDb::create());
    run_doc(&Doc { path: "docs/operations.md", min_blocks: 6, dev: false }, Some(&db.url));
}

#[test]
fn the_admin_guide_commands_work_as_written() {
    run_doc(&Doc { path: "docs/admin-guide.md", min_blocks: 4, dev: true }, None);
}

#[test]
fn the_host_integration_commands_work_as_written() {
    run_doc(&Doc { path: "docs/host-integration.md", min_blocks: 10, dev: true }, None);
}

#[test]
fn fences_and_curl_calls_are_read_as_the_test_needs() {
    // The checks above must be able to fail: a bare fence, a `bash` fence and a curl without -f.
    let bare = std::panic::catch_unwind(|| sh_blocks("x.md", "```\nalga-ext serve\n```\n"));
    assert!(bare.is_err(), "a fence without a language is refused");
    let bash = std::panic::catch_unwind(|| sh_blocks("x.md", "```bash\ntrue\n```\n"));
    assert!(bash.is_err(), "a bash fence is refused");
    let blocks = sh_blocks("x.md", "text\n\n  ```sh\n  echo one \\\n    two\n  ```\n\n```json\n{}\n```\n```sh\ntrue\n```\n");
    assert_eq!(blocks.iter().map(|b| (b.line, b.text.as_str())).collect::<Vec<_>>(), [(3, "echo one \\\n  two"), (11, "true")]);
    assert_eq!(curls_without_fail("curl -s \"$RUNTIME/x\" | jq .\ncurl -fsS a\ncurl --fail-with-body b"), ["curl -s \"$RUNTIME/x\""]);
    assert!(curls_without_fail("X=$(curl -fsS -H 'If-None-Match: x' \\\n  \"$RUNTIME/y\" | jq -r .id)").is_empty());
}
