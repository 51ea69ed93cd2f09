//! The team's own dump, not ours: the bundled database after ordinary production life (rows
//! added, changed and removed in business tables, one table and one index added), backed up
//! with `dryrun backup` and exactly as SPEC §2 does (headerless `n_live_tup` taken right after
//! the writes). Each set passes 26/26 with the committed snapshots through `run --fixtures`
//! and through `run --env`, with the real `dryrun` binary and real PostgreSQL 16 containers.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use common::source_db::SourceDb;
use common::*;

const T: Duration = Duration::from_secs(900);

/// Production life since the fixture was taken, on tables of the bundled Directus database:
/// inserts (with identity and explicit ids), updates that keep the row count, deletes, a new
/// table with rows, a new index on a business table. No ANALYZE after it: the estimate file is
/// taken at once, while the statistics may still lag (SPEC §2's trap).
const LIFE_SQL: &str = r#"
INSERT INTO public.tac_tag (slug, label, color)
  SELECT 'life-' || g, 'Life ' || g, NULL FROM generate_series(1, 25) g;
UPDATE public.tac_publication SET url = coalesce(url, '') || '?v=2' WHERE id % 3 = 0;
DELETE FROM public.universal_edges
  WHERE id IN (SELECT id FROM public.universal_edges ORDER BY id DESC LIMIT 10);
INSERT INTO public.universal_edges (id, src_kind, src_id, dst_kind, dst_id, edge_type, created_at)
  SELECT 9000000 + g, 'life', g::text, 'tag', (g + 1)::text, 'relates', now()
  FROM generate_series(1, 40) g;
DELETE FROM tac.crm_notes WHERE id IN (SELECT id FROM tac.crm_notes ORDER BY id LIMIT 5);
CREATE TABLE public.life_bookmarks (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner text NOT NULL,
  url text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO public.life_bookmarks (owner, url)
  SELECT 'user' || (g % 7), 'https://example.invalid/' || g FROM generate_series(1, 50) g;
CREATE INDEX tac_publication_channel_life_idx ON public.tac_publication (channel);
"#;

/// One suite at a time (2 cores): four at once would only measure the machine.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

struct Sets {
    /// Written by `dryrun backup` (exact counts).
    dryrun: PathBuf,
    /// Made by SPEC §2's commands (headerless `n_live_tup` estimates).
    spec: PathBuf,
}

/// The two backup sets of the lived database (made once per test process).
fn sets() -> &'static Sets {
    static SETS: OnceLock<Sets> = OnceLock::new();
    SETS.get_or_init(|| {
        let base = process_dir("production-like");
        let src = SourceDb::start_empty();
        // The production server has the role the dump's grants name (SPEC §2).
        src.psql_stdin("CREATE ROLE workflow_admin NOLOGIN;");
        src.pg_restore(&repo().join("fixtures/directus_full_fixture.dump"));
        src.psql_stdin("ANALYZE;");
        src.psql_stdin(LIFE_SQL);
        let spec = src.backup_like_spec(&base.join("spec"), "20261204T0900Z");
        let dryrun = base.join("dryrun-backup");
        let b = run(
            &[
                "backup",
                "--source-container",
                &src.name,
                "--out",
                dryrun.to_str().expect("utf-8"),
            ],
            &[],
            &repo(),
            T,
        );
        src.remove();
        assert_eq!(
            b.code,
            Some(0),
            "dryrun backup:\n{}\n{}",
            b.stdout,
            b.stderr
        );
        // The team's headerless estimate file, as psql wrote it.
        let psv = only(&spec.dir, ".psv");
        let text = std::fs::read_to_string(&psv).expect("psv");
        assert!(
            !text.starts_with('#') && text.contains("public|life_bookmarks|"),
            "{text}"
        );
        Sets {
            dryrun,
            spec: spec.dir,
        }
    })
}

fn only(dir: &Path, suffix: &str) -> PathBuf {
    let v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    assert_eq!(v.len(), 1, "{suffix} in {}: {v:?}", dir.display());
    v.into_iter().next().expect("one")
}

/// `dryrun run --fixtures SET` (plus `extra`): 26/26, the committed snapshots unchanged, the
/// closure line bound to this set's dump.
fn run_passes(set: &Path, extra: &[&str], what: &str) {
    let _one = serial();
    let report = tempfile::tempdir().expect("tmp");
    let mut args = vec![
        "run",
        "--fixtures",
        set.to_str().expect("utf-8"),
        "--report",
        report.path().to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    let r = run(&args, &[], &repo(), T);
    assert_eq!(
        r.code,
        Some(0),
        "{what}: run {args:?}\n{}\n{}",
        r.stdout,
        r.stderr
    );
    assert_eq!(
        r.stdout.lines().last(),
        Some("26 passed, 0 failed"),
        "{what}:\n{}",
        r.stdout
    );
    let md = std::fs::read_to_string(report.path().join("hb05-closure.md")).expect("md");
    let dump = only(set, ".dump");
    let digest = harness::checksum::sha256_file(&dump).expect("digest");
    assert!(
        md.contains(&format!("on dump {}", &digest[..16])) && md.contains("HB-05 passed 26/26"),
        "{what}: the closure line does not bind this dump:\n{}",
        md.lines().take(4).collect::<Vec<_>>().join("\n")
    );
    assert!(
        !repo()
            .join("snapshots")
            .read_dir()
            .expect("ls")
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".snap.new")),
        "{what}: a snapshot was rewritten"
    );
}

#[test]
fn a_lived_database_backed_up_by_dryrun_passes_26_of_26() {
    run_passes(&sets().dryrun, &[], "dryrun backup set, run --fixtures");
}

#[test]
fn a_lived_database_backed_up_as_spec_2_does_passes_26_of_26() {
    run_passes(
        &sets().spec,
        &[],
        "SPEC §2 set (n_live_tup), run --fixtures",
    );
}

/// HB-09 then HB-05, the seed's own workflow: a persistent environment from the team's dump
/// and their row-count file, then the suite in it.
fn env_then_run(set: &Path, what: &str) {
    let name = format!(
        "pg-dry-run-lived-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..6]
    );
    let _guard = EnvGuard(name.clone());
    let dump = only(set, ".dump");
    let psv = only(set, ".psv");
    let sums = set.join("SHA256SUMS");
    let up = run(
        &[
            "env",
            "up",
            "--dump",
            dump.to_str().expect("utf-8"),
            "--sums",
            sums.to_str().expect("utf-8"),
            "--rowcounts",
            psv.to_str().expect("utf-8"),
            "--checks",
            "checks/hb08.yaml",
            "--name",
            &name,
        ],
        &[],
        &repo(),
        T,
    );
    assert_eq!(
        up.code,
        Some(0),
        "{what}: env up\n{}\n{}",
        up.stdout,
        up.stderr
    );
    run_passes(set, &["--env", &name], what);
    let down = run(&["env", "down", &name], &[], &repo(), T);
    assert_eq!(down.code, Some(0), "{what}: env down\n{}", down.stderr);
}

#[test]
fn an_environment_from_the_dryrun_backup_set_passes_26_of_26() {
    env_then_run(&sets().dryrun, "dryrun backup set, env up + run --env");
}

#[test]
fn an_environment_from_the_spec_2_set_passes_26_of_26() {
    env_then_run(&sets().spec, "SPEC §2 set, env up + run --env");
}
