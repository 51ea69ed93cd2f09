//! `dryrun fixture`: generate the deterministic Directus-shaped fixture and back it up into a
//! folder, each file printed with its SHA-256 and size.

use harness::error::{exit, Result};

use super::cli::FixtureArgs;
use super::with_interrupt;

pub async fn command(args: FixtureArgs) -> Result<u8> {
    let FixtureArgs {
        seed,
        scale,
        out,
        force,
        image,
        repo,
    } = args;
    let repo = harness::checkout::resolve(repo.as_deref())?;
    harness::backup::check_out_dir(&out, force)?;
    let docker = harness::docker::connect().await?;
    let run = harness::docker::RunIdentity::new();
    let img = harness::image::resolve(&docker, image.as_deref()).await?;
    let r = with_interrupt(
        &run,
        harness::fixture::build(
            &docker,
            &run,
            &img.reference,
            &repo,
            fixture_gen::Options { seed, scale },
            &out,
            force,
        ),
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
