//! `dryrun-negative-control`: the `dryrun` command line built with the cargo feature
//! `negative-controls`, so `DRYRUN_SABOTAGE` can weaken a check; test-only, never shipped.

#[path = "dryrun/main.rs"]
mod dryrun;

fn main() -> std::process::ExitCode {
    dryrun::main()
}
