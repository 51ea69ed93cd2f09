//! `dryrun gc`: remove the labelled containers and volumes of runs whose process has exited
//! (never a live run's, never a persistent environment).

use harness::error::{exit, Result};

use super::cli::GcArgs;

pub async fn command(args: GcArgs) -> Result<u8> {
    let GcArgs { all } = args;
    let docker = harness::docker::connect().await?;
    let removed = harness::docker::sweep(&docker, None, all).await?;
    for r in &removed {
        println!("removed {} {} (run {})", r.kind, r.id, r.run);
    }
    println!("{} resource(s) removed", removed.len());
    Ok(exit::OK)
}
