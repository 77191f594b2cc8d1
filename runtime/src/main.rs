//! The `alga-ext` binary: parses the command line and runs a subcommand.

use std::process::ExitCode;

use alga_ext::cli::{Cli, Command};
use alga_ext::{bundle_cli, config, serve, telemetry};
use alga_store::TenantId;
use clap::Parser;

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    // The embedded server's own request log would bury the extension's (which `dev` prints
    // itself, formatted); authors ask for the server's with --log when they want it.
    if matches!(cli.command, Command::Dev(_)) && cli.log == "info" && std::env::var_os("ALGA_EXT_LOG").is_none() {
        // The extension's own lines and failures reach the terminal through `dev` already.
        cli.log = "warn,extension=off,alga_ext::http::dispatch=error".into();
    }
    // `alga-ext test` prints its own report (an extension's failures included); the server's
    // request and lifecycle lines would bury it unless --log or ALGA_EXT_LOG asks for them.
    if matches!(cli.command, Command::Test(_)) && cli.log == "info" && std::env::var_os("ALGA_EXT_LOG").is_none() {
        cli.log = "error".into();
    }
    // A command whose output is piped into `head` should stop quietly when the reader goes,
    // as Unix tools do, not panic on the write. The server keeps Rust's default (SIGPIPE
    // ignored): a client that hangs up must cost one failed write, never the process.
    #[cfg(unix)]
    if !matches!(cli.command, Command::Serve(_)) {
        // SAFETY: called before any other thread exists; it only restores the default action.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    if let Err(err) = telemetry::init(cli.log_format, &cli.log) {
        eprintln!("error: {err}");
        return ExitCode::from(2);
    }
    // V8's platform is process-wide and must exist before any thread may build an isolate,
    // so it comes before the tokio runtime starts its workers.
    deno_core::JsRuntime::init_platform(None);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(cli.worker_threads()).enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line, naming the setting at fault; details are in the chain.
            eprintln!("error: {}", format!("{err:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve::run(*args).await?,
        Command::Migrate(args) => serve::migrate(&args).await?,
        Command::Token(args) => {
            let keys = config::checked_keys(&args.jwt_secret)?;
            let tenant = TenantId::parse(&args.tenant).map_err(|e| anyhow::anyhow!("--tenant: {e}"))?;
            if args.user.is_empty() {
                anyhow::bail!("--user: must not be empty");
            }
            let token = keys.mint(&tenant, &args.user, &args.roles, args.ttl).map_err(|e| anyhow::anyhow!("--ttl: {e}"))?;
            println!("{token}");
        }
        Command::Validate(args) => bundle_cli::validate(&args)?,
        Command::Pack(args) => bundle_cli::pack(&args)?,
        Command::Keygen(args) => bundle_cli::keygen(&args)?,
        Command::Sign(args) => bundle_cli::sign(&args)?,
        Command::Install(args) => bundle_cli::install(&args).await?,
        Command::Logs(args) => alga_ext::logs_cli::run(&args).await?,
        Command::New(args) => alga_ext::scaffold::run(&args)?,
        Command::Dev(args) => alga_ext::dev::run(args).await?,
        Command::Schema => bundle_cli::schema()?,
        Command::Test(args) => alga_ext::test_runner::run(&args).await?,
    }
    Ok(())
}
