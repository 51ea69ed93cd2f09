//! `dryrun`: the DBA's command line for the dot-iu-cutter P0 dry run.
//! Each subcommand maps errors to the documented exit codes; containers are removed on exit.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use harness::error::{exit, Error, Result};

#[derive(Parser, Debug)]
#[command(name = "dryrun", version, about = "dot-iu-cutter P0 dry-run harness: verified backups, restore tests and the HB-05 rollback scenarios in isolated PostgreSQL 16 containers")]
struct Cli {
    /// Log filter (RUST_LOG syntax), e.g. `info` or `harness=debug`.
    #[arg(long, global = true, env = "DRYRUN_LOG", default_value = "info")]
    log: String,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Make sure a PostgreSQL 16 image exists: PG_IMAGE, postgres:16, or build dot-iu-cutter/postgres:16 offline.
    Image {
        /// Use this image instead (must exist locally).
        #[arg(long, env = "PG_IMAGE")]
        image: Option<String>,
        /// Rebuild the offline image even when one with the same recipe exists.
        #[arg(long)]
        force: bool,
        /// Cache directory for the rootfs and the wheel.
        #[arg(long, default_value = ".cache/image")]
        cache: PathBuf,
    },
    /// Remove containers and volumes left by dead runs (found by label).
    Gc {
        /// Also remove resources of runs that still look alive.
        #[arg(long)]
        all: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error[runtime]: cannot start the async runtime: {e}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    let result = rt.block_on(dispatch(cli.cmd));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{}", e.report());
            ExitCode::from(e.exit_code())
        }
    }
}

async fn dispatch(cmd: Cmd) -> Result<u8> {
    match cmd {
        Cmd::Image { image, force, cache } => {
            let docker = harness::docker::connect().await?;
            let t = std::time::Instant::now();
            let c = harness::image::ensure(&docker, image.as_deref(), &cache, force).await?;
            println!("image {} ({}, {}) ready in {:.1} s", c.reference, c.source, &c.id, t.elapsed().as_secs_f64());
            Ok(exit::OK)
        }
        Cmd::Gc { all } => {
            let docker = harness::docker::connect().await?;
            let removed = harness::docker::sweep(&docker, None, all).await?;
            for r in &removed {
                println!("removed {} {} (run {})", r.kind, r.id, r.run);
            }
            println!("{} resource(s) removed", removed.len());
            Ok(exit::OK)
        }
    }
}

#[allow(dead_code)]
fn _unused(_: Error) {}
