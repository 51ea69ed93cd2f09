//! The bundled fixture: a Directus-shaped database generated deterministically (fixture-gen),
//! loaded into a throwaway container and backed up exactly as production would be.

use std::io::Write;
use std::path::{Path, PathBuf};

use bollard::Docker;

use crate::backup::{backup, BackupOptions, BackupResult};
use crate::container::{psql_script, PgContainer, PgSpec, DB_NAME, DB_USER};
use crate::docker::RunIdentity;
use crate::error::{Error, ErrorKind, IoContext, Result};

/// Directus 12.3.1 bootstrap SQL shipped in the repository.
pub fn bootstrap_sql(repo: &Path) -> PathBuf {
    repo.join("fixtures/directus-12.3.1-bootstrap.sql")
}

async fn load_sql(pg: &PgContainer, file: &Path) -> Result<()> {
    let f = tokio::fs::File::open(file)
        .await
        .map_err(|e| Error::io(file, "open", e))?;
    let mut out = Vec::new();
    let (code, err) = pg
        .exec_io(&psql_script(DB_USER, DB_NAME, &[]), &[], Some(f), &mut out)
        .await?;
    if code != 0 {
        return Err(Error::new(
            ErrorKind::FixtureLoadFailed,
            format!(
                "loading {} failed (exit {code}): {}",
                file.display(),
                err.trim()
            ),
        ));
    }
    Ok(())
}

/// Generate, load and back up a fixture database into `out`.
pub async fn build(
    docker: &Docker,
    run: &RunIdentity,
    image: &str,
    repo: &Path,
    gen_opts: fixture_gen::Options,
    out: &Path,
    force: bool,
) -> Result<BackupResult> {
    crate::backup::check_out_dir(out, force)?;
    let tmp = tempfile::tempdir().at(Path::new("/tmp"), "create a temporary directory in")?;
    let gen = tmp.path().join("generated.sql");
    let roles = tmp.path().join("roles.sql");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&gen).at(&gen, "create")?);
        fixture_gen::write_sql(&mut f, &gen_opts).at(&gen, "write")?;
        f.flush().at(&gen, "write")?;
        let mut r = std::fs::File::create(&roles).at(&roles, "create")?;
        fixture_gen::write_roles_sql(&mut r).at(&roles, "write")?;
    }
    let mut spec = PgSpec::new(image, "fixture-source");
    spec.publish = false;
    spec.settings = crate::restore::fast_settings();
    let pg = PgContainer::start(docker, run, &spec).await?;
    load_sql(&pg, &roles).await?;
    load_sql(&pg, &bootstrap_sql(repo)).await?;
    load_sql(&pg, &gen).await?;
    let _ = pg
        .exec(
            &[
                "psql",
                "-X",
                "-q",
                "-U",
                DB_USER,
                "-d",
                DB_NAME,
                "-c",
                "CHECKPOINT",
            ],
            true,
        )
        .await?;
    let scale = gen_opts.scale;
    let stamp = if scale == 1 {
        "fixture".to_string()
    } else {
        format!("fixture-scale{scale}")
    };
    let res = backup(
        docker,
        &BackupOptions {
            source: pg.id.clone(),
            db: DB_NAME.into(),
            user: DB_USER.into(),
            out: out.to_path_buf(),
            stamp: Some(stamp),
            content_hashes: true,
            force,
        },
    )
    .await;
    pg.remove().await?;
    res
}
