//! The run itself: one suite opened (or a persistent environment attached and leased), the
//! scenarios run a few at a time with the baseline restored beside them, the impact section
//! profiled on a clone, the environment's baseline checked, the engine's other containers
//! judged, every resource of the run removed.

use std::time::Instant;

use futures_util::StreamExt;
use tracing::Instrument;

use crate::error::{Error, ErrorKind, Result};
use crate::scenario::outcome::Extra;
use crate::scenario::run::{run_checked, SnapshotCheck};
use crate::scenario::snapshot;
use crate::scenario::suite::{self, DumpSet, Suite, SuiteOptions};

use super::inputs::Inputs;
use super::*;

/// What the run observed, for the attempt: each scenario's row and extras, the server, the
/// impact section, the environment used, the engine's containers outside the run before and
/// after and their changes, the restores performed.
pub(super) struct Executed {
    pub results: Vec<(ScenarioRow, Extra)>,
    pub server_version: String,
    pub impact: Option<ImpactSection>,
    pub environment: Option<EnvironmentUse>,
    pub before: Vec<crate::docker::ForeignContainer>,
    pub after: Vec<crate::docker::ForeignContainer>,
    pub foreign_changes: Vec<crate::engine_watch::ForeignChange>,
    pub restores: Vec<String>,
    pub run: crate::docker::RunIdentity,
    pub image: crate::image::ImageChoice,
    pub started: Instant,
}

/// Run the selected scenarios once on a suite of their own (see the module doc).
pub(super) async fn execute(o: &RunOptions, i: &Inputs) -> Result<Executed> {
    let Inputs {
        files,
        dumps,
        dump_sha256,
        plan_dir,
        ..
    } = i;
    let plan_dir = plan_dir.clone();
    let suite = Suite::open(SuiteOptions {
        repo: o.repo.clone(),
        run: o.run.clone(),
        image: o.image.clone(),
        dumps: dumps.clone(),
        plan_dir,
        // The CLI's run checks the engine's foreign containers before and after: always.
        needs_engine: true,
    })
    .await?;
    suite.dump_verified(dump_sha256);
    let (docker, run, image) = (
        suite.docker()?.clone(),
        suite.run.clone(),
        suite.image.clone(),
    );
    let before = suite.foreign_before.clone();
    let watch = crate::engine_watch::ForeignWatch::start(&docker, &before);
    let started = Instant::now();
    // `--env NAME`: its server is the baseline; held under a lease, fingerprinted before.
    let (mut environment, mut lease) = (None, None);
    if let Some(name) = &o.env {
        let (use_, before, l) =
            enter_environment(&docker, &suite, name, dumps, dump_sha256, &image).await?;
        environment = Some((use_, before));
        lease = Some(l);
    }
    let snapshots = suite.snapshots();
    let progress = o.progress.clone();
    if let Some(p) = &progress {
        p.planned(files.len());
    }
    let repo_prefix = format!("{}/", o.repo.display());
    let order = suite::schedule(files);
    // The baseline restore starts at once, beside the first scenarios that do not need it.
    let shared = suite.plan_shared(files);
    // The impact profile needs a clone of the baseline: taken when a scenario of the run
    // needs a server from the baseline (restore-phase ones only judge its restore).
    let needs_baseline = files.iter().any(|f| {
        f.scenario.environment == crate::scenario::model::Setup::Clone
            || f.scenario.server_data == crate::scenario::model::ServerData::BaselineCopy
    });
    let warm = suite.warm_up(shared);
    let scenarios = futures_util::stream::iter(order)
        .map(|f| {
            let suite = &suite;
            let snapshots = &snapshots;
            let progress = &progress;
            let repo_prefix = &repo_prefix;
            let span = tracing::info_span!("scenario", id = %f.scenario.id);
            async move {
                if let Some(p) = progress {
                    p.started(&f.scenario.id);
                }
                let t = Instant::now();
                let checked = run_checked(suite, f, SnapshotCheck::Diff).await;
                let failure = checked.failure.map(|t| t.replace(repo_prefix.as_str(), ""));
                let diff = checked.diff.map(|t| t.replace(repo_prefix.as_str(), ""));
                let extra = checked.extra;
                match &failure {
                    None => tracing::info!("passed"),
                    Some(why) => tracing::info!(cause = %why, "failed"),
                }
                let snap = snapshot::snapshot_path(snapshots, f);
                let row = ScenarioRow {
                    id: f.scenario.id.clone(),
                    name: snapshot::snapshot_name(f),
                    title: f.scenario.title.clone(),
                    passed: failure.is_none(),
                    failure,
                    diff,
                    strategy: extra.strategy.clone(),
                    settings: extra.settings.clone(),
                    elapsed_ms: t.elapsed().as_millis(),
                    scenario_sha256: f.sha256.clone(),
                    snapshot_sha256: crate::checksum::sha256_file(&snap).ok(),
                    evidence: extra.evidence.clone(),
                };
                if let Some(p) = progress {
                    p.finished(&row);
                }
                (row, extra)
            }
            .instrument(span)
        })
        .buffer_unordered(o.jobs.max(1))
        .collect::<Vec<(ScenarioRow, Extra)>>();
    let ((), results) = tokio::join!(warm, scenarios);
    let server_version = match suite.baseline().await {
        Ok(b) => b.pg.connect("postgres").await.ok().map(|c| async move {
            c.query_one("SHOW server_version", &[])
                .await
                .ok()
                .map(|r| r.get::<_, String>(0))
        }),
        Err(_) => None,
    };
    let server_version = match server_version {
        Some(f) => f.await.unwrap_or_default(),
        None => String::new(),
    };
    // What the plan does while it runs, on a clone of the baseline of its own (the scenarios
    // are done; the clone is dropped before the environment's baseline is checked).
    let impact = if needs_baseline {
        Some(impact_section(o, &suite, i, &image).await)
    } else {
        None
    };
    // The environment's baseline after the last scenario (every clone is dropped by now).
    let environment = match environment {
        Some((use_, before)) => Some(environment_after(&suite, use_, &before).await),
        None => None,
    };
    drop(lease);
    let after = suite.close().await?;
    let foreign_events = watch.finish().await;
    let foreign_changes = crate::engine_watch::judge(
        &before,
        &after,
        &foreign_events,
        &crate::engine_watch::calls(),
    );
    let restores = suite.restores();
    drop(suite);
    Ok(Executed {
        results,
        server_version,
        impact,
        environment,
        before,
        after,
        foreign_changes,
        restores,
        run,
        image,
        started,
    })
}

/// Attach the persistent environment `name` as the suite's baseline: refuse another dump or
/// image, take the run lease, drop clones an interrupted run left, fingerprint its baseline.
async fn enter_environment(
    docker: &bollard::Docker,
    suite: &Suite,
    name: &str,
    dumps: &DumpSet,
    dump_sha256: &str,
    image: &crate::image::ImageChoice,
) -> Result<(
    EnvironmentUse,
    crate::fingerprint::Fingerprint,
    crate::environments::RunLease,
)> {
    let a = crate::environments::attach(docker, name).await?;
    if a.info.dump_sha256 != dump_sha256 {
        return Err(Error::new(
            ErrorKind::EnvDumpMismatch,
            format!(
                "The environment {name} was restored from a dump with SHA-256 {} ({}), but this run's dump {} has {dump_sha256}; restore-phase scenarios and the environment would test different data.",
                a.info.dump_sha256, a.info.dump_name, dumps.dump.display()
            ),
        )
        .with_hint("Pass the environment's backup set with --fixtures DIR (`dryrun env ls` shows its dump), or make an environment from this dump with `dryrun env up`."));
    }
    if a.pg.image != image.reference {
        return Err(Error::new(
            ErrorKind::EnvImageMismatch,
            format!("The environment {name} runs image {}, but this run would start its own servers (copies of the environment's data) on {}.", a.pg.image, image.reference),
        )
        .with_hint(format!("Run with PG_IMAGE={} (or --image).", a.pg.image)));
    }
    let lease = crate::environments::lease(&a).await?;
    let stale = crate::environments::drop_stale_clones(&a).await?;
    if !stale.is_empty() {
        tracing::warn!(env = %name, dropped = ?stale, "dropped scenario clones an interrupted run left in the environment");
    }
    let settings = crate::environments::settings(&a).await?;
    let fp = {
        let c = a.pg.connect(crate::container::DB_NAME).await?;
        crate::fingerprint::take(&c).await?
    };
    let use_ = EnvironmentUse {
        name: name.to_string(),
        container_id: a.info.id.clone(),
        image: a.info.image.clone(),
        dump_sha256: a.info.dump_sha256.clone(),
        created: a.info.created.clone(),
        settings: settings.clone(),
        stale_clones_dropped: stale,
        baseline_before: FingerprintDigests::of(&fp),
        baseline_after: None,
        baseline_verdict: BaselineVerdict::Unknown,
        baseline_differences: Vec::new(),
    };
    suite.use_environment(a.pg, name, settings)?;
    Ok((use_, fp, lease))
}

/// The impact section: the plan profiled on a clone of the baseline, linted and judged against
/// the rules, written beside the report; its cost measured; a failure is the section's error.
async fn impact_section(
    o: &RunOptions,
    suite: &Suite,
    i: &Inputs,
    image: &crate::image::ImageChoice,
) -> ImpactSection {
    let (plan, impact_rules, dumps, dump_sha256) =
        (&i.plan, &i.impact_rules, &i.dumps, &i.dump_sha256);
    let impact_started = Instant::now();
    let profiled = crate::scenario::steps::locks::profile_on_clone(suite, "impact").await;
    match profiled {
        Ok(steps) => {
            let lint = crate::impact::lint::lint_plan(plan, impact_rules);
            let r = crate::impact::assemble(
                crate::impact::Subject {
                    plan,
                    dump: &dumps.dump,
                    dump_sha256: dump_sha256.clone(),
                    image: &image.reference,
                },
                impact_rules.clone(),
                lint,
                steps,
                0.0,
                Vec::new(),
            );
            match crate::impact::write(&o.report, &r) {
                Ok(()) => ImpactSection {
                    report: Some(r),
                    error: None,
                    elapsed_ms: impact_started.elapsed().as_millis(),
                },
                Err(e) => ImpactSection {
                    report: Some(r),
                    error: Some(format!(
                        "the impact files could not be written: {}",
                        e.message
                    )),
                    elapsed_ms: impact_started.elapsed().as_millis(),
                },
            }
        }
        Err(e) => ImpactSection {
            report: None,
            error: Some(format!("[{}] {}", e.kind, e.message)),
            elapsed_ms: impact_started.elapsed().as_millis(),
        },
    }
}

/// The environment's baseline fingerprinted again after the run and judged against `before`
/// (unchanged only if the digests and the diff agree); a failed fingerprint is a difference.
async fn environment_after(
    suite: &Suite,
    mut use_: EnvironmentUse,
    before: &crate::fingerprint::Fingerprint,
) -> EnvironmentUse {
    let after = match suite.baseline().await {
        Ok(b) => match b.pg.connect(crate::container::DB_NAME).await {
            Ok(c) => crate::fingerprint::take(&c).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match after {
        Ok(fp) => {
            let diff = before.diff(&fp);
            use_.baseline_after = Some(FingerprintDigests::of(&fp));
            use_.baseline_verdict =
                if diff.is_empty() && use_.baseline_after.as_ref() == Some(&use_.baseline_before) {
                    BaselineVerdict::Unchanged
                } else {
                    BaselineVerdict::Changed
                };
            use_.baseline_differences = diff
                .to_string()
                .lines()
                .filter(|l| *l != "no differences")
                .map(str::to_string)
                .collect();
        }
        Err(e) => {
            use_.baseline_differences = vec![format!(
                "the second fingerprint failed: [{}] {}",
                e.kind, e.message
            )];
        }
    }
    use_
}
