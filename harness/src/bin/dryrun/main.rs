//! `dryrun`: the DBA's command line for the dot-iu-cutter P0 dry run.
//! Each subcommand maps errors to the documented exit codes; containers are removed on exit.
//!
//! `cli` holds the clap definitions, `cmd` one module per subcommand; this file sets up logging
//! and the runtime and dispatches.

mod cli;
mod cmd;

use std::process::ExitCode;

use clap::Parser;
use harness::error::{exit, Result};

use cli::{Cli, Cmd};

pub fn main() -> ExitCode {
    // Snapshots are compared, never written, by the CLI.
    std::env::set_var("INSTA_UPDATE", "no");
    let cli = Cli::parse();
    // insta's workspace (its config) is the checkout, never found through `cargo metadata`;
    // set before any thread exists.
    let insta_root = match &cli.cmd {
        Cmd::Run(a) => harness::checkout::resolve_suite(a.repo.as_deref())
            .ok()
            .map(|h| h.root().to_path_buf()),
        _ => None,
    };
    std::env::set_var(
        "INSTA_WORKSPACE_ROOT",
        insta_root.unwrap_or_else(std::env::temp_dir),
    );
    harness::logging::init(&harness::logging::choose(
        cli.quiet,
        cli.verbose,
        cli.log.as_deref(),
        std::env::var("RUST_LOG").ok().as_deref(),
    ));
    let quiet = cli.quiet;
    harness::progress::enable_progress(!quiet);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error[runtime]: cannot start the async runtime: {e}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    let result = rt.block_on(dispatch(cli.cmd, quiet));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{}", e.report());
            ExitCode::from(e.exit_code())
        }
    }
}

async fn dispatch(cmd: Cmd, quiet: bool) -> Result<u8> {
    match cmd {
        Cmd::Impact(a) => cmd::impact::command(a).await,
        Cmd::Image(a) => cmd::image::command(a).await,
        Cmd::Backup(a) => cmd::backup::command(a).await,
        Cmd::Preflight(a) => cmd::preflight::command(a).await,
        Cmd::RestoreTest(a) => cmd::restore_test::command(a).await,
        Cmd::Fixture(a) => cmd::fixture::command(a).await,
        Cmd::Run(a) => cmd::run::command(a, quiet).await,
        Cmd::Canon(a) => cmd::canon::command(a).await,
        Cmd::Env { cmd } => cmd::env::command(cmd).await,
        Cmd::Gc(a) => cmd::gc::command(a).await,
    }
}
