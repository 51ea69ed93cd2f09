//! `dryrun backup`: the read-only backup of a running source container into a folder, each
//! file printed with its SHA-256 and size.

use harness::error::{exit, Result};

use super::cli::BackupArgs;

pub async fn command(args: BackupArgs) -> Result<u8> {
    let BackupArgs {
        source_container,
        db,
        user,
        out,
        no_content_hashes,
        force,
    } = args;
    harness::backup::check_out_dir(&out, force)?;
    let docker = harness::docker::connect().await?;
    let r = harness::backup::backup(
        &docker,
        &harness::backup::BackupOptions {
            source: source_container,
            db,
            user,
            out,
            stamp: None,
            content_hashes: !no_content_hashes,
            force,
        },
    )
    .await?;
    for f in &r.files {
        println!(
            "{}  {} ({} bytes)",
            f.sha256,
            r.dir.join(&f.name).display(),
            f.bytes
        );
    }
    Ok(exit::OK)
}
