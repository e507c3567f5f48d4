//! `trailsearch`: flags -> config -> pipeline -> report -> exit status.

mod args;
mod cluster;
mod deadletter;
mod detail;
mod display;
mod ingest;
mod kibana;
mod progress;
mod prune;
mod search;
mod setup;
mod time;
mod trace;
mod verify;

use std::process::ExitCode;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = args::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {}", display::escape_controls(&format!("{e:#}")));
            ExitCode::from(if is_usage(&e) { 2 } else { 1 })
        }
    }
}

/// Flags or settings given wrongly, found after parsing: exit status 2, as
/// for the usage errors the parser finds.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn is_usage(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<UsageError>().is_some()
            || cause
                .downcast_ref::<trailsearch_ingest::SettingsError>()
                .is_some_and(trailsearch_ingest::SettingsError::is_usage)
    })
}

/// Runs a command; `Ok(false)` is a completed run that lost or set aside events.
async fn run(cli: Cli) -> anyhow::Result<bool> {
    match cli.command {
        Command::Setup(args) => setup::run(&cli.cluster, &args).await,
        Command::Ingest(args) => ingest::run(&cli.cluster, &args).await,
        Command::Search(args) => search::run(&cli.cluster, &args).await,
        Command::Trace(args) => trace::run(&cli.cluster, &args).await,
        Command::Verify(args) => verify::run(&args).await,
        Command::Prune(args) => prune::run(&cli.cluster, &args).await,
        Command::Kibana(args) => kibana::run(&cli.cluster, &args),
        Command::Deadletter(command) => deadletter::run(&cli.cluster, &command).await,
    }
}

/// A closed stdout or stderr (`trailsearch search | head -1`) ends the
/// process quietly, as it ends other Unix tools, and stops the work behind
/// it. Rust ignores SIGPIPE, which turns every later write into an error and
/// `println!` into a panic.
fn restore_sigpipe() {
    // SAFETY: sets one signal back to its default disposition, before any
    // other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRAILSEARCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Colour only for a person at a terminal, never into a file or a pipe.
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
