//! `dryrun image`: make sure a PostgreSQL 16 image exists (PG_IMAGE, postgres:16, or the
//! offline build) and say which one, with how long it took.

use harness::error::{exit, Result};

use super::cli::ImageArgs;

pub async fn command(args: ImageArgs) -> Result<u8> {
    let ImageArgs {
        image,
        force,
        cache,
    } = args;
    let docker = harness::docker::connect().await?;
    let t = std::time::Instant::now();
    let c = harness::image::ensure(&docker, image.as_deref(), &cache, force).await?;
    println!(
        "image {} ({}, {}) ready in {:.1} s",
        c.reference,
        c.source,
        &c.id,
        t.elapsed().as_secs_f64()
    );
    Ok(exit::OK)
}
