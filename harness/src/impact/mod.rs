//! What a plan does to a live database while it runs (issue 24): lint before running
//! ([`lint`]), the profile by running it on a restored copy ([`profile`]), judged against the
//! operations team's rule set ([`rules`]) and reported ([`report`]).

pub mod lint;
pub mod load;
pub mod plot;
pub mod profile;
pub mod report;
pub mod rules;

use std::path::{Path, PathBuf};

use crate::container::{PgContainer, PgSpec, DB_NAME};
use crate::docker::RunIdentity;
use crate::error::{Error, ErrorKind, Result};
use crate::migrate::Plan;
use crate::scenario::suite::DumpSet;

/// What `dryrun impact` was given.
#[derive(Debug, Clone)]
pub struct ImpactOptions {
    /// The checkout or unpacked suite home (bundled fixtures and plan).
    pub repo: PathBuf,
    pub plan: Option<PathBuf>,
    pub fixtures: Option<PathBuf>,
    pub rules: Option<PathBuf>,
    pub image: Option<String>,
    /// Writes per second of the writers while the plan runs (0: no load).
    pub load: f64,
    /// Profile on a clone of this persistent environment's baseline (`dryrun env up`) instead
    /// of a fresh restore of the backup set: the full-size copy, without a restore's wait.
    pub env: Option<String>,
}

/// Sessions under `--load`: one writes, one reads.
pub const WRITERS: usize = 2;

/// The plan given, or the built-in P0.
pub fn load_plan(dir: Option<&Path>) -> Result<Plan> {
    match dir {
        None => Plan::embedded(),
        Some(d) => Plan::load(d),
    }
}

/// Lint the plan; restore the backup set into a container of this run (removed after), or
/// clone the `--env` environment's baseline (dropped after; the baseline is never written);
/// profile every deploy and revert statement there, under load if asked; judge against the
/// rules.
pub async fn run(
    docker: &bollard::Docker,
    run: &RunIdentity,
    o: &ImpactOptions,
) -> Result<report::ImpactReport> {
    // Inputs first: nothing is provisioned for a bad rule set, plan or backup set.
    let rules = rules::ImpactRules::load(o.rules.as_deref())?;
    let plan = load_plan(o.plan.as_deref())?;
    let lint = lint::lint_plan(&plan, &rules);
    if let Some(name) = &o.env {
        let a = crate::environments::attach(docker, name).await?;
        let _lease = crate::environments::lease(&a).await?;
        crate::guard::ensure_target(docker, run, &a.pg.id, Some(name)).await?;
        let clone = format!(
            "impact_locks_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let admin = a.pg.connect("postgres").await?;
        admin
            .batch_execute(&crate::container::clone_sql(&clone))
            .await
            .map_err(Error::from)?;
        let profiled = profile_on(&a.pg, &clone, &plan, o.load).await;
        let dropped = admin
            .batch_execute(&crate::container::drop_sql(&clone, false))
            .await
            .map_err(Error::from);
        let (steps, samples) = profiled?;
        dropped?;
        return Ok(assemble(
            Subject {
                plan: &plan,
                dump: Path::new(&a.info.dump_name),
                dump_sha256: a.info.dump_sha256.clone(),
                image: &a.info.image,
            },
            rules,
            lint,
            steps,
            o.load,
            samples,
        ));
    }
    let dumps = match &o.fixtures {
        Some(d) => DumpSet::from_dir(d)?,
        None => DumpSet::bundled(&o.repo),
    };
    let dump_sha256 = dumps.verify()?;

    let image = crate::image::resolve(docker, o.image.as_deref()).await?;
    let mut spec = PgSpec::new(&image.reference, "impact");
    spec.settings = crate::restore::fast_settings();
    let pg = PgContainer::start(docker, run, &spec).await?;
    let profiled = async {
        let (outcome, _, _) = crate::restore::restore_into(&pg, &dumps.dump, 2).await?;
        if !outcome.passed {
            return Err(Error::new(
                ErrorKind::ImpactRestoreFailed,
                format!(
                    "The backup {} did not restore cleanly, so the plan cannot be profiled on it: {}",
                    dumps.dump.display(),
                    outcome
                        .messages
                        .iter()
                        .filter(|m| !m.benign)
                        .map(|m| m.message.lines().next().unwrap_or("").to_string())
                        .chain(outcome.count_note.clone())
                        .chain(std::iter::once(format!("pg_restore exit code {}", outcome.exit_code)))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            )
            .with_hint("Run `dryrun restore-test` on this backup set first."));
        }
        profile_on(&pg, DB_NAME, &plan, o.load).await
    }
    .await;
    let removed = pg.remove().await;
    let (steps, samples) = profiled?;
    removed?;
    Ok(assemble(
        Subject {
            plan: &plan,
            dump: &dumps.dump,
            dump_sha256,
            image: &image.reference,
        },
        rules,
        lint,
        steps,
        o.load,
        samples,
    ))
}

/// Profile `plan` on database `db` of `pg`, with `rate` statements per second of Directus-like
/// traffic on the tables it names (0: none); each step gets what the traffic saw during it.
async fn profile_on(
    pg: &PgContainer,
    db: &str,
    plan: &Plan,
    rate: f64,
) -> Result<(Vec<profile::StepProfile>, Vec<load::Sample>)> {
    let client = pg.connect(db).await?;
    let epoch = std::time::Instant::now();
    let load = if rate > 0.0 {
        let targets = load::targets(&client, plan).await?;
        Some(load::Load::start(&pg.pg_config(db)?, targets, WRITERS, rate, epoch).await?)
    } else {
        None
    };
    // A moment of traffic before the first step, so its writes have a baseline.
    if load.is_some() {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let profiled = profile::profile_plan(&client, plan, epoch).await;
    let samples = match load {
        Some(l) => Some(l.stop().await),
        None => None,
    };
    let mut steps = profiled?;
    if let Some(samples) = &samples {
        for s in &mut steps {
            s.stalls = Some(load::stalls(samples, s.started_at_ms, s.ended_at_ms));
        }
    }
    Ok((steps, samples.unwrap_or_default()))
}

/// What a profile was taken of.
pub struct Subject<'a> {
    pub plan: &'a Plan,
    pub dump: &'a Path,
    pub dump_sha256: String,
    pub image: &'a str,
}

/// The report of a profile: judged against the rules.
pub fn assemble(
    s: Subject<'_>,
    rules: rules::ImpactRules,
    lint: Vec<lint::Finding>,
    steps: Vec<profile::StepProfile>,
    load: f64,
    samples: Vec<load::Sample>,
) -> report::ImpactReport {
    let verdicts = report::judge(&rules, &steps, &lint);
    let passed = verdicts.iter().all(|v| v.breaches.is_empty());
    report::ImpactReport {
        plan: match &s.plan.source {
            crate::migrate::PlanSource::Embedded => "built in (migrations/p0)".into(),
            crate::migrate::PlanSource::Dir(d) => d.display().to_string(),
        },
        plan_digest: s.plan.digest(),
        dump: s.dump.display().to_string(),
        dump_sha256: s.dump_sha256,
        image: s.image.to_string(),
        rules_source: rules.source.clone(),
        rules,
        lint,
        steps,
        load,
        samples,
        verdicts,
        passed,
        test_hooks: crate::fault::active_hooks(),
    }
}

/// The rule set of a checkout (`checks/p0-impact.yaml`), else the bundled one.
pub fn rules_of(repo: &Path) -> Result<rules::ImpactRules> {
    let p = repo.join("checks").join("p0-impact.yaml");
    if !p.is_file() {
        return rules::ImpactRules::load(None);
    }
    let text = std::fs::read_to_string(&p).map_err(|e| {
        Error::new(
            ErrorKind::ImpactRulesUnreadable,
            format!("The impact rule set {} cannot be read: {e}.", p.display()),
        )
        .with_hint("Make checks/p0-impact.yaml of the checkout readable (it is the operations team's rule set).")
    })?;
    rules::ImpactRules::parse(&text, "checks/p0-impact.yaml")
}

/// Write `impact.json`, `impact.md`, `impact-junit.xml` and the timeline (`plot::FILE`) into
/// `dir`.
pub fn write(dir: &Path, r: &report::ImpactReport) -> Result<()> {
    crate::report::write_text(&dir.join(plot::FILE), &plot::svg(r)?)?;
    crate::report::write_json(&dir.join("impact.json"), r)?;
    crate::report::write_text(&dir.join("impact.md"), &report::markdown(r))?;
    crate::report::write_text(&dir.join("impact-junit.xml"), &report::junit(r)?)?;
    Ok(())
}
