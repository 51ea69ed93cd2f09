//! The verified restore test (HB-08): checksum before any container exists, streamed upload,
//! `pg_restore`, triage of its errors (known-benign vs fatal), smoke test against the snapshot.

mod content;
mod smoke;
mod triage;

use std::path::{Path, PathBuf};
use std::time::Instant;

use backup_set::{BackupSet, Needs};
use bollard::Docker;
use serde::Serialize;

use crate::checks::{Checks, ChecksChoice};
use crate::checksum::{SumsCheck, Verified};
use crate::container::{PgContainer, PgSpec, DB_NAME, DB_USER};
use crate::docker::RunIdentity;
use crate::dumpinfo::{self, DumpInfo};
use crate::error::{Error, ErrorKind, Result};
use crate::rowcounts::{CountKind, RowCounts};

/// Where the dump is placed inside the container.
pub use content::*;
pub use smoke::*;
pub use triage::*;
pub const DUMP_IN_CONTAINER: &str = "/tmp/restore.dump";

/// Server settings for a throwaway restore target (durability off: the data can be remade).
/// `wal_level` stays `replica` so that the baseline can be copied with `pg_basebackup`.
pub fn fast_settings() -> Vec<(String, String)> {
    [
        ("fsync", "off"),
        ("full_page_writes", "off"),
        ("synchronous_commit", "off"),
        ("maintenance_work_mem", "256MB"),
        ("max_wal_size", "4GB"),
        ("checkpoint_timeout", "30min"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect()
}

/// Upload the dump and run pg_restore into the container's database.
pub async fn restore_into(
    pg: &PgContainer,
    dump: &Path,
    jobs: u32,
) -> Result<(RestoreOutcome, u128, u128)> {
    let t = Instant::now();
    pg.upload_file(dump, "/tmp", "restore.dump").await?;
    let upload_ms = t.elapsed().as_millis();
    crate::fault::hit("restore").await;
    let t = Instant::now();
    let jobs_s = jobs.max(1).to_string();
    let size = std::fs::metadata(dump).map(|m| m.len()).unwrap_or(0);
    let name = dump
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let bar = crate::progress::busy(&format!("pg_restore -j {jobs_s} {name}"), size);
    let out = pg
        .exec(
            &[
                "pg_restore",
                "-U",
                DB_USER,
                "-d",
                DB_NAME,
                "--no-owner",
                "--no-privileges",
                "--clean",
                "--if-exists",
                "-j",
                &jobs_s,
                DUMP_IN_CONTAINER,
            ],
            false,
        )
        .await?;
    bar.finish_and_clear();
    let restore_ms = t.elapsed().as_millis();
    let _ = pg.exec(&["rm", "-f", DUMP_IN_CONTAINER], true).await;
    Ok((
        triage(out.exit_code, &out.stderr, jobs),
        upload_ms,
        restore_ms,
    ))
}

#[derive(Debug, Clone)]
pub struct RestoreTestOptions {
    pub dump: PathBuf,
    pub sums: PathBuf,
    pub rowcounts: Option<PathBuf>,
    /// Content-hash file to prove the restored rows with ([`resolve_content`]).
    pub content: Option<PathBuf>,
    pub image: Option<String>,
    /// Keep the container afterwards (`--keep`: labelled kept, no published port).
    pub keep: bool,
    /// Keep it this way instead (a persistent environment: its name, labels and a port).
    pub keep_as: Option<KeepAs>,
    pub jobs: u32,
    pub durable: bool,
    /// Role label of the container (scenarios use their own to count what they created).
    pub role: String,
    /// The smoke checks (default: the bundled HB-08 file).
    pub checks: ChecksChoice,
}

/// How the container of a restore test outlives it.
#[derive(Debug, Clone, Default)]
pub struct KeepAs {
    /// Container name (its volume is `<name>-data`); else the generated one.
    pub name: Option<String>,
    /// Labels marking it, on the container and its volume from their creation on.
    pub labels: Vec<(String, String)>,
    /// Publish 5432 on 127.0.0.1 (random port) so that a later command can connect.
    pub publish: bool,
    /// Keep it only if the verdict is pass (an environment); `--keep` keeps a failed one too.
    pub only_if_passed: bool,
}

impl KeepAs {
    /// What `--keep` means: the generated name, the kept label, no published port.
    pub fn kept() -> KeepAs {
        KeepAs {
            labels: vec![(crate::docker::LABEL_KEPT.to_string(), "true".to_string())],
            ..KeepAs::default()
        }
    }
}

/// The container a restore test kept, and how to use and remove it.
#[derive(Debug, Clone, Serialize)]
pub struct Kept {
    /// A persistent environment (`dryrun env up`) rather than a `--keep` container.
    pub persistent: bool,
    pub container: String,
    pub volume: String,
    pub connect: String,
    pub remove: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Timings {
    pub verify_ms: u128,
    pub provision_ms: u128,
    pub upload_ms: u128,
    pub restore_ms: u128,
    pub smoke_ms: u128,
    pub teardown_ms: u128,
    pub total_ms: u128,
}

/// The stage of a provisioned restore test at which a failure stopped it (its report's
/// `stopped_at`, and what a scenario's `restore_test` may expect).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    serde::Deserialize,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Stage {
    /// `pg_restore` reported an error triage did not find benign.
    Restore,
    /// The smoke test (table set, counts, key tables, checks' queries) failed.
    Smoke,
    /// The restored content differs from the backup's content hashes.
    Content,
}

impl Stage {
    /// Its name in reports and scenario files (`restore`, `smoke`, `content`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A restore test's verdict, written `pass` or `fail`; `refused` is what inputs refused
/// before any container become as evidence (`dryrun preflight --run-restore-test`): a report
/// never holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    Refused,
}

impl Verdict {
    pub fn is_pass(self) -> bool {
        self == Verdict::Pass
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Refused => "refused",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whose restore a restore test judged: the one it performed in its own container, or the
/// run's shared restore of the same verified dump (`dryrun run`: one restore per distinct dump).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RestoreSource {
    Own,
    Shared,
}

/// The restore a report judged: whose, in which container, of which dump (its SHA-256), and
/// how long its `pg_restore` took.
#[derive(Debug, Clone, Serialize)]
pub struct Judged {
    pub restore: RestoreSource,
    pub container: String,
    pub dump_sha256: String,
    pub restore_ms: u128,
}

/// Everything a restore test observed: its verdict; `stopped_at` names the stage where a
/// failure stopped the run.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreTestReport {
    pub verdict: Verdict,
    pub stopped_at: Option<Stage>,
    pub reason: Option<String>,
    /// The restore this report judged: its own, or the run's shared one of the same dump.
    pub judged: Judged,
    pub dump: DumpInfo,
    pub verified: Vec<Verified>,
    /// Every entry of the sums file with its verdict.
    pub checksums: SumsCheck,
    pub checks: Checks,
    pub image: String,
    pub image_id: String,
    pub server_version: String,
    pub settings: Vec<(String, String)>,
    pub restore: Option<RestoreOutcome>,
    pub smoke: Option<SmokeOutcome>,
    /// Content proof, when the backup set has content hashes ([`content_proof`]).
    pub content: Option<ContentProof>,
    pub notes: Vec<String>,
    pub kept: Option<Kept>,
    pub run_id: String,
    pub timings: Timings,
    /// Test hooks active in the process that wrote it (`fault::active_hooks`); not empty means
    /// the report is no evidence for HB-08.
    pub test_hooks: Vec<String>,
}

/// Inputs that passed [`preflight_inputs`]: dump header, every listed file's verdict, the
/// parsed snapshot, the loaded checks and the notes so far.
#[derive(Debug, Clone)]
pub struct VerifiedInputs {
    pub info: DumpInfo,
    pub sums: SumsCheck,
    pub counts: Option<RowCounts>,
    pub checks: Checks,
    pub toc: dumpinfo::Toc,
    pub notes: Vec<String>,
}

/// Verify inputs before anything is provisioned, in this order: the sums file, every listed
/// file's checksum (dump, snapshot, the others present in the sums file's folder), the
/// content-hash file, the dump header, the snapshot's format, the checks file, and the dump's
/// table of contents against what the checks need (the backup set's front door,
/// [`BackupSet::verify_with`], with the content-hash file as its step after the checksums).
pub fn preflight_inputs(o: &RestoreTestOptions) -> Result<VerifiedInputs> {
    let set = BackupSet {
        dump: &o.dump,
        sums: &o.sums,
        rowcounts: o.rowcounts.as_deref(),
    };
    let needs = Needs::Checks {
        choice: &o.checks,
        way_out: "Pass `--checks counts` for the generic checks only (checksums, clean restore, the table set and every table's count against the snapshot), or `--checks FILE` with checks written for this database (see checks/hb08.yaml).",
    };
    // The content-hash file is resolved right after the checksums, before the dump's header.
    let v = set.verify_with(needs, &crate::progress::ByteBars, || {
        resolve_content(o).map(drop)
    })?;
    let checks = v.checks.ok_or_else(|| {
        Error::new(
            ErrorKind::ChecksNotLoaded,
            "the backup set's verification returned no checks for Needs::Checks",
        )
    })?;
    Ok(VerifiedInputs {
        info: v.info,
        sums: v.sums,
        counts: v.counts,
        checks,
        toc: v.toc,
        notes: v.notes,
    })
}

/// The whole restore test. Bad input and environment problems are errors; a failed restore
/// or smoke test is a report with verdict `fail`.
pub async fn restore_test(
    docker: &Docker,
    run: &RunIdentity,
    o: &RestoreTestOptions,
) -> Result<RestoreTestReport> {
    let t = Instant::now();
    let inputs = preflight_inputs(o)?;
    restore_test_verified(docker, run, o, inputs, t).await
}

/// [`restore_test`] for inputs already verified (the dump is hashed once); `started` is when
/// verification began, so the report's timings include it.
pub async fn restore_test_verified(
    docker: &Docker,
    run: &RunIdentity,
    o: &RestoreTestOptions,
    inputs: VerifiedInputs,
    started: Instant,
) -> Result<RestoreTestReport> {
    let mut timings = Timings::default();
    let content = resolve_content(o)?;
    timings.verify_ms = started.elapsed().as_millis();
    let image = crate::image::resolve(docker, o.image.as_deref()).await?;
    let t = Instant::now();
    let keep_as = match (&o.keep_as, o.keep) {
        (Some(k), _) => Some(k.clone()),
        (None, true) => Some(KeepAs::kept()),
        (None, false) => None,
    };
    let mut spec = PgSpec::new(&image.reference, &o.role);
    spec.publish = keep_as.as_ref().is_some_and(|k| k.publish);
    if let Some(k) = &keep_as {
        spec.name = k.name.clone();
        spec.labels = k.labels.clone();
    }
    if !o.durable {
        spec.settings = fast_settings();
    }
    let pg = PgContainer::start(docker, run, &spec).await?;
    timings.provision_ms = t.elapsed().as_millis();
    let (ro, up, rs) = restore_into(&pg, &o.dump, o.jobs).await?;
    timings.upload_ms = up;
    timings.restore_ms = rs;
    let judged = Judged {
        restore: RestoreSource::Own,
        container: pg.name.clone(),
        dump_sha256: inputs.sums.dump_sha256().unwrap_or_default().to_string(),
        restore_ms: rs,
    };
    let mut report = judge(
        &pg,
        &image,
        run,
        inputs,
        &ro,
        content,
        judged,
        spec.settings.clone(),
        &mut timings,
    )
    .await?;
    let t = Instant::now();
    let keep = keep_as
        .as_ref()
        .is_some_and(|k| !k.only_if_passed || report.verdict.is_pass());
    if keep {
        let persistent = keep_as.as_ref().is_some_and(|k| {
            k.labels
                .iter()
                .any(|(l, v)| l == crate::docker::LABEL_PERSISTENT && v == "true")
        });
        let (container, volume) = pg.keep();
        report.kept = Some(Kept {
            persistent,
            connect: format!("docker exec -it {container} psql -U {DB_USER} -d {DB_NAME}"),
            remove: if persistent {
                format!("dryrun env down {container}")
            } else {
                format!("docker rm -f -v {container} && docker volume rm {volume}")
            },
            container,
            volume,
        });
    } else {
        pg.remove().await?;
    }
    timings.teardown_ms = t.elapsed().as_millis();
    timings.total_ms = started.elapsed().as_millis();
    report.timings = timings;
    Ok(report)
}

/// A restore performed once and judged by every restore test of the same verified dump with
/// the same pipeline (`dryrun run`: one restore per distinct dump): its server, pg_restore's
/// outcome, the dump's digest, how long it took and the server's settings.
pub struct SharedRestore<'a> {
    pub pg: &'a PgContainer,
    pub outcome: &'a RestoreOutcome,
    pub dump_sha256: &'a str,
    pub restore_ms: u128,
    pub settings: &'a [(String, String)],
}

/// [`restore_test_verified`] that judges `shared` instead of restoring: the inputs' dump must
/// be the one `shared` restored (same SHA-256), and nothing is provisioned, kept or removed.
/// The caller keeps clone creation off the server while this reads it.
pub async fn judge_shared(
    docker: &Docker,
    run: &RunIdentity,
    o: &RestoreTestOptions,
    inputs: VerifiedInputs,
    shared: SharedRestore<'_>,
    started: Instant,
) -> Result<RestoreTestReport> {
    let digest = inputs.sums.dump_sha256().unwrap_or_default();
    if digest != shared.dump_sha256 || o.keep || o.keep_as.is_some() {
        return Err(Error::new(
            ErrorKind::SharedRestoreMismatch,
            format!(
                "a restore test of {} (SHA-256 {digest}) was asked to judge the shared restore of another dump (SHA-256 {}) or to keep its server",
                o.dump.display(),
                shared.dump_sha256
            ),
        ));
    }
    let mut timings = Timings::default();
    let content = resolve_content(o)?;
    timings.verify_ms = started.elapsed().as_millis();
    let image = crate::image::resolve(docker, o.image.as_deref()).await?;
    let judged = Judged {
        restore: RestoreSource::Shared,
        container: shared.pg.name.clone(),
        dump_sha256: shared.dump_sha256.to_string(),
        restore_ms: shared.restore_ms,
    };
    let mut report = judge(
        shared.pg,
        &image,
        run,
        inputs,
        shared.outcome,
        content,
        judged,
        shared.settings.to_vec(),
        &mut timings,
    )
    .await?;
    timings.total_ms = started.elapsed().as_millis();
    report.timings = timings;
    Ok(report)
}

/// Judge a performed restore against verified inputs: pg_restore's triage (a benign message is
/// a note, any other error stops at `restore`), then the smoke test and the content proof.
#[allow(clippy::too_many_arguments)]
async fn judge(
    pg: &PgContainer,
    image: &crate::image::ImageChoice,
    run: &RunIdentity,
    inputs: VerifiedInputs,
    ro: &RestoreOutcome,
    content: Option<(PathBuf, crate::fingerprint::ContentFile, Option<String>)>,
    judged: Judged,
    settings: Vec<(String, String)>,
    timings: &mut Timings,
) -> Result<RestoreTestReport> {
    let VerifiedInputs {
        info,
        sums,
        counts: expected,
        checks,
        notes,
        ..
    } = inputs;
    let verified = sums.verified();
    let server_version = pg
        .exec(
            &[
                "psql",
                "-X",
                "-U",
                DB_USER,
                "-d",
                DB_NAME,
                "-tAc",
                "SHOW server_version",
            ],
            true,
        )
        .await
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let mut report = RestoreTestReport {
        verdict: Verdict::Fail,
        stopped_at: None,
        reason: None,
        judged,
        dump: info,
        verified,
        checksums: sums,
        checks: checks.clone(),
        image: image.reference.clone(),
        image_id: image.id.clone(),
        server_version,
        settings,
        restore: None,
        smoke: None,
        content: None,
        notes,
        kept: None,
        run_id: run.run_id.clone(),
        timings: Timings::default(),
        test_hooks: crate::fault::active_hooks(),
    };
    for m in ro.messages.iter().filter(|m| m.benign) {
        report.notes.push(format!(
            "known-benign restore error ({}): {}",
            m.kind,
            first_line(&m.message)
        ));
    }
    let restored_ok = ro.passed;
    if !restored_ok {
        let fatal: Vec<String> = ro
            .messages
            .iter()
            .filter(|m| !m.benign)
            .map(|m| first_line(&m.message))
            .collect();
        report.stopped_at = Some(Stage::Restore);
        report.reason = Some(
            if fatal.is_empty() && ro.exit_code == 1 && !ro.messages.is_empty() {
                // Every message is benign, but pg_restore's count holds errors nobody saw.
                format!(
                    "pg_restore exited 1 and its error count is not accounted for: {}",
                    ro.count_note
                        .as_deref()
                        .unwrap_or("it printed no count of ignored errors")
                )
            } else {
                format!(
                    "pg_restore exited {} with {} error(s) that are not known-benign: {}",
                    ro.exit_code,
                    fatal.len(),
                    if fatal.is_empty() {
                        "(no error message; see exit code)".to_string()
                    } else {
                        fatal.join("; ")
                    }
                )
            },
        );
    } else if let Some(n) = &ro.count_note {
        report.notes.push(n.clone());
    }
    report.restore = Some(ro.clone());
    if restored_ok {
        let t = Instant::now();
        let sm = smoke(pg, expected.as_ref(), &checks).await?;
        timings.smoke_ms = t.elapsed().as_millis();
        report.notes.extend(sm.notes.iter().cloned());
        if let (Some(CountKind::Estimate), Some(true)) =
            (sm.count_kind, expected.as_ref().map(|e| e.kind_stated))
        {
            report.notes.push(format!(
                "row-count snapshot holds n_live_tup estimates: they prove the table set; a count outside max({}, {}%) is a note, never a failure",
                crate::rowcounts::ESTIMATE_TOLERANCE_ABS,
                (crate::rowcounts::ESTIMATE_TOLERANCE_REL * 100.0) as i64
            ));
        }
        if sm.passed {
            report.verdict = Verdict::Pass;
        } else {
            report.stopped_at = Some(Stage::Smoke);
            report.reason = Some(format!("smoke test failed: {}", sm.failures().join("; ")));
        }
        report.smoke = Some(sm);
        if let Some((path, file, note)) = content {
            report.notes.extend(note);
            let proof = content_proof(pg, &path, &file).await?;
            if !proof.passed {
                let why = format!(
                    "content differs from the backup: {}",
                    proof.differing.join("; ")
                );
                if report.verdict.is_pass() {
                    report.stopped_at = Some(Stage::Content);
                    report.reason = Some(why);
                } else {
                    report.reason = Some(format!(
                        "{}; {why}",
                        report.reason.take().unwrap_or_default()
                    ));
                }
                report.verdict = Verdict::Fail;
            }
            report.content = Some(proof);
        }
    }
    Ok(report)
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--keep` must mark its container so that a plain sweep (`dryrun gc`, the next run's
    /// start-up sweep) spares it once this process has exited (a cargo-mutants survivor:
    /// dropping the label was seen by no unit test).
    #[test]
    fn kept_containers_carry_the_label_the_sweep_spares() {
        let k = KeepAs::kept();
        let mut labels = crate::docker::RunIdentity::new().labels("restore-test");
        labels.extend(k.labels.iter().cloned());
        // Its owner has exited (pid 0 has no /proc entry).
        labels.insert(crate::docker::LABEL_OWNER_PID.into(), "0".into());
        assert_eq!(
            crate::docker::protection(&labels),
            crate::docker::Protection::Kept
        );
        assert!(!crate::docker::sweepable(&labels, false), "plain gc");
        assert!(crate::docker::sweepable(&labels, true), "gc --all");
        assert!(!k.publish && !k.only_if_passed && k.name.is_none());
    }

    /// A stage serializes (and parses) as the name its `as_str` gives the reports.
    #[test]
    fn stages_serialize_as_their_names() {
        for st in [Stage::Restore, Stage::Smoke, Stage::Content] {
            let v = serde_json::to_value(st).expect("serialize");
            assert_eq!(v, serde_json::json!(st.as_str()));
            assert_eq!(st.to_string(), st.as_str());
            let back: Stage = serde_json::from_value(v).expect("deserialize");
            assert_eq!(back, st);
        }
    }

    #[test]
    fn missing_role_is_benign() {
        let e = "pg_restore: error: could not execute query: ERROR:  role \"workflow_admin\" does not exist\nCommand was: CREATE POLICY p ON public.t TO workflow_admin USING (true);\npg_restore: warning: errors ignored on restore: 1\n";
        let o = triage(1, e, 1);
        assert!(o.passed);
        assert_eq!(o.messages.len(), 1);
        assert_eq!(o.messages[0].kind, "missing_role");
    }

    #[test]
    fn other_errors_fail() {
        let e = "pg_restore: error: could not read from input file: end of file\n";
        assert!(!triage(1, e, 1).passed);
        let mixed = "pg_restore: error: could not execute query: ERROR:  role \"x\" does not exist\nCommand was: X\npg_restore: error: could not execute query: ERROR:  syntax error\npg_restore: warning: errors ignored on restore: 2\n";
        assert!(!triage(1, mixed, 1).passed);
        assert!(
            !triage(1, "", 1).passed,
            "non-zero exit without messages must fail"
        );
        assert!(triage(0, "", 1).passed);
    }

    #[test]
    fn a_parallel_count_is_bounded_by_the_messages_and_explained() {
        let doubled = "pg_restore: error: could not execute query: ERROR:  role \"w\" does not exist\nCommand was: X\npg_restore: warning: errors ignored on restore: 2\n";
        let o = triage(1, doubled, 2);
        assert!(o.passed, "{o:?}");
        let note = o.count_note.as_deref().expect("explained");
        assert!(
            note.contains("so 1 of these messages' items were restored by a worker"),
            "{note}"
        );
        assert!(
            !triage(1, doubled, 1).passed,
            "-j 1 counts each message once"
        );
        let tripled = doubled.replace("restore: 2", "restore: 3");
        let o = triage(1, &tripled, 2);
        assert!(!o.passed);
        assert!(
            o.count_note
                .as_deref()
                .is_some_and(|n| n.contains("1 error(s) unaccounted for")),
            "{o:?}"
        );
    }

    #[test]
    fn counts_bind_the_messages_exit_codes_bind_the_outcome() {
        let one = "pg_restore: error: could not execute query: ERROR:  role \"w\" does not exist\nCommand was: X\npg_restore: warning: errors ignored on restore: 1\n";
        let under = "pg_restore: error: could not execute query: ERROR:  role \"w\" does not exist\nCommand was: X\npg_restore: error: could not execute query: ERROR:  role \"v\" does not exist\nCommand was: Y\npg_restore: warning: errors ignored on restore: 1\n";
        assert!(
            !triage(1, under, 2).passed,
            "jobs=2, count below the messages"
        );
        // jobs=0 means one job (as reported), so the exact count rule applies.
        let doubled = "pg_restore: error: could not execute query: ERROR:  role \"w\" does not exist\nCommand was: X\npg_restore: warning: errors ignored on restore: 2\n";
        assert!(!triage(1, doubled, 0).passed);
        assert_eq!(triage(1, doubled, 0).jobs, 1);
        // A benign message but no count line: pg_restore stopped, or the log is not its own.
        let uncounted = "pg_restore: error: could not execute query: ERROR:  role \"w\" does not exist\nCommand was: X\n";
        assert!(!triage(1, uncounted, 1).passed);
        // Exit 0 with a real error message, and exit 2 with none, both fail.
        let real = "pg_restore: error: could not execute query: ERROR:  syntax error\n";
        assert!(!triage(0, real, 1).passed);
        assert!(!triage(2, "", 1).passed);
        assert!(
            !triage(2, one, 1).passed,
            "only exit 1 may carry ignored errors"
        );
    }

    #[test]
    fn only_a_missing_role_is_benign_not_any_missing_object_or_role_error() {
        for e in [
            "pg_restore: error: could not execute query: ERROR:  relation \"public.t\" does not exist\nCommand was: ALTER TABLE public.t OWNER TO x;\n",
            "pg_restore: error: could not execute query: ERROR:  permission denied to grant role \"w\"\nCommand was: GRANT w TO x;\n",
        ] {
            let o = triage(1, e, 1);
            assert!(!o.passed, "{e}");
            assert_eq!(o.messages[0].kind, "restore_error", "{e}");
        }
    }
}
