//! `dryrun`: the DBA's command line for the dot-iu-cutter P0 dry run.
//! Each subcommand maps errors to the documented exit codes; containers are removed on exit.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use harness::error::{exit, Error, Result};

#[derive(Parser, Debug)]
#[command(
    name = "dryrun",
    version,
    about = "dot-iu-cutter P0 dry-run harness: verified backups, restore tests and the HB-05 rollback scenarios in isolated PostgreSQL 16 containers",
    after_help = "Examples:\n  dryrun image\n  dryrun restore-test --dump fixtures/directus_full_fixture.dump --sums fixtures/SHA256SUMS\n  dryrun run --report out/report\n\nLogs go to stderr: -v info, -vv debug, -q errors only; DRYRUN_LOG or RUST_LOG take a filter (e.g. harness=debug). Exit codes: 0 pass, 1 check failed, 2 usage, 3 bad input, 4 environment, 5 retry needs approval, 70 internal, 130 interrupted."
)]
struct Cli {
    /// Log filter (RUST_LOG syntax, e.g. `info` or `harness=debug`); RUST_LOG is honoured when
    /// this is not set. Default: warnings and errors only.
    #[arg(long, global = true, env = "DRYRUN_LOG")]
    log: Option<String>,
    /// More logs on stderr: -v info, -vv debug (overrides --log / DRYRUN_LOG / RUST_LOG).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    verbose: u8,
    /// Errors only on stderr, and no progress bar.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Make sure a PostgreSQL 16 image exists: PG_IMAGE, postgres:16, or build dot-iu-cutter/postgres:16 offline.
    #[command(after_help = "Example:\n  dryrun image            # a no-op when the image exists")]
    Image {
        /// Use this image instead (must exist locally).
        #[arg(long, env = "PG_IMAGE")]
        image: Option<String>,
        /// Rebuild the offline image even when one with the same recipe exists.
        #[arg(long)]
        force: bool,
        /// Cache directory for the rootfs and the wheel.
        #[arg(long, default_value = ".cache/image")]
        cache: PathBuf,
    },
    /// Take a read-only backup of a running source container: custom dump, schema-only SQL, exact row counts, SHA256SUMS.
    #[command(
        after_help = "Example:\n  dryrun backup --source-container directus-db --db directus --user directus --out backups/2026-12-01"
    )]
    Backup {
        /// Name or id of the production database's container.
        #[arg(long)]
        source_container: String,
        /// Database to back up.
        #[arg(long, default_value = "directus")]
        db: String,
        /// Database role that reads it (sessions are read-only).
        #[arg(long, default_value = "directus")]
        user: String,
        /// Output directory (refused if it already holds a backup set, unless --force).
        #[arg(long)]
        out: PathBuf,
        /// Do not write the per-table content hashes (directus_content_<stamp>.json).
        #[arg(long)]
        no_content_hashes: bool,
        /// Write into a folder that already holds a backup set (replaces its SHA256SUMS).
        #[arg(long)]
        force: bool,
    },
    /// Execution day's go/no-go gate: the fresh backup's age, its checksums, a passed restore test of this dump and the HB-05 closure of this plan; GO exits 0, NO-GO 1.
    #[command(
        after_help = "Example:\n  dryrun preflight --dump backups/directus_full_20261204T170000Z.dump --source-timezone Europe/Berlin \\\n    --restore-report out/restore --closure out/report --plan migrations/p0 --report out/preflight"
    )]
    Preflight(harness::preflight::cli::PreflightArgs),
    /// Verify a dump against SHA256SUMS, restore it into a fresh PostgreSQL 16 container and smoke-test it.
    #[command(
        after_help = "Example:\n  dryrun restore-test --dump fixtures/directus_full_fixture.dump --sums fixtures/SHA256SUMS \\\n    --rowcounts fixtures/directus_rowcounts_fixture.psv --report out/report"
    )]
    RestoreTest {
        /// The custom-format dump (pg_dump -F c).
        #[arg(long)]
        dump: PathBuf,
        /// SHA256SUMS listing the dump.
        #[arg(long)]
        sums: PathBuf,
        /// Row-count snapshot (*.psv) to compare with: `# exact` (as `backup` writes it), `# estimate`,
        /// or headerless (the operations team's n_live_tup output, read as estimates).
        #[arg(long)]
        rowcounts: Option<PathBuf>,
        /// Content hashes written by `dryrun backup` to compare every restored table with
        /// (default: the `*_content_<stamp>.json` next to the dump when SHA256SUMS lists it).
        #[arg(long)]
        content: Option<PathBuf>,
        /// Smoke checks: a checks YAML file, or `counts` for the generic checks only
        /// (checksums, clean restore, table set and counts). Default: the bundled checks/hb08.yaml.
        #[arg(long, value_name = "FILE|counts", value_parser = harness::checks::ChecksChoice::parse_arg)]
        checks: Option<harness::checks::ChecksChoice>,
        /// Directory for restore-test.json and restore-test.md.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Keep the container and volume afterwards, to look into (labelled kept: other runs'
        /// start-up sweeps and `dryrun gc` leave it; the report names it, how to connect and how
        /// to remove it; `dryrun gc --all` removes kept containers once their command has exited).
        /// For a named, long-lived server that `dryrun run --env` can use, see `dryrun env up`.
        #[arg(long)]
        keep: bool,
        /// pg_restore parallel jobs.
        #[arg(long, short = 'j', default_value_t = 2)]
        jobs: u32,
        /// Restore with production-like durability settings instead of the fast throwaway ones.
        #[arg(long)]
        durable: bool,
        /// PostgreSQL 16 image to use (must exist locally; default: postgres:16 or the offline build).
        #[arg(long, env = "PG_IMAGE")]
        image: Option<String>,
    },
    /// Generate the Directus-shaped fixture (deterministic) and back it up into a directory.
    #[command(
        after_help = "Example:\n  dryrun fixture --seed 1 --scale 30 --out out/fixture-prod"
    )]
    Fixture {
        /// Seed of the deterministic generator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Scale factor: 1 is the committed fixture; 30 gives a production-sized dump (about 68 MB).
        #[arg(long, default_value_t = 1)]
        scale: u32,
        /// Output directory (required: the committed `fixtures/` is never written by default).
        #[arg(long)]
        out: PathBuf,
        /// Write into a folder that already holds a backup set (e.g. `--out fixtures --force`).
        #[arg(long)]
        force: bool,
        /// PostgreSQL 16 image to use (must exist locally; default: postgres:16 or the offline build).
        #[arg(long, env = "PG_IMAGE")]
        image: Option<String>,
        /// The checkout (default: found upward from the current directory).
        #[arg(long)]
        repo: Option<PathBuf>,
    },
    /// Run the HB-05 scenarios (every scenarios/*.yaml) and write the closure report (Markdown, JSON, JUnit XML); exit 0 only when all pass.
    /// What the plan does to the database while it runs: lint (squawk), then every deploy and
    /// revert statement run one at a time on a restored copy of the backup set (locks of its own
    /// backend on pre-existing relations, rewrites, sequential scans, durations), judged against
    /// checks/p0-impact.yaml; exit 0 when every rule is kept, 1 on a breach.
    #[command(
        after_help = "Examples:\n  dryrun impact\n  dryrun impact --plan ../their-p0 --fixtures /backups/20261204 --load 50 --report out/impact\n  dryrun impact --plan ../their-p0 --env pg-dry-run-hb05 --load 50 --report out/impact"
    )]
    Impact {
        /// The plan: a folder shaped like migrations/p0 or a Sqitch project (default: the built-in P0).
        #[arg(long)]
        plan: Option<PathBuf>,
        /// The backup set to restore and run the plan on (default: the bundled fixture).
        #[arg(long, conflicts_with = "env")]
        fixtures: Option<PathBuf>,
        /// Run the plan on a clone of this persistent dry-run environment's baseline (`dryrun
        /// env up`; the full-size copy, no restore) instead of restoring a backup set.
        #[arg(long)]
        env: Option<String>,
        /// The rule set (default: checks/p0-impact.yaml).
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Write impact.md, impact.json and impact-junit.xml here.
        #[arg(long)]
        report: Option<PathBuf>,
        /// The checkout holding fixtures/ (default: found from the current directory, or the bundled suite).
        #[arg(long)]
        repo: Option<PathBuf>,
        /// PostgreSQL 16 image to use (must exist locally; default: postgres:16 or the offline build).
        #[arg(long, env = "PG_IMAGE")]
        image: Option<String>,
        /// Directus-like traffic while the plan runs: this many writes per second (two writer
        /// sessions updating rows of the existing tables the plan names); 0 for none.
        #[arg(long, default_value_t = 0.0)]
        load: f64,
    },
    #[command(
        after_help = "Examples:\n  dryrun run                                   # from anywhere inside the checkout\n  dryrun run --report out/report -j 4\n  dryrun run --retry-approved-by 'A. Approver'  # after a failed attempt (exit 5 without it)\n  dryrun run --fixtures out/fixture-prod        # on another backup set"
    )]
    Run {
        /// Directory of the closure report (default: out/report in the checkout).
        #[arg(long)]
        report: Option<PathBuf>,
        /// Name of the Đ32 approver: required to run again after a failed attempt.
        #[arg(long)]
        retry_approved_by: Option<String>,
        /// PostgreSQL 16 image to use (must exist locally; default: postgres:16 or the offline build).
        #[arg(long, env = "PG_IMAGE")]
        image: Option<String>,
        /// Scenarios run at the same time (4 measured best on 2 cores: container starts and
        /// restores wait on I/O while clone scenarios use the CPU).
        #[arg(long, short = 'j', default_value_t = 4)]
        jobs: usize,
        /// Run on this backup set (a folder with one *.dump, SHA256SUMS and one *.psv, as
        /// `dryrun backup` or `dryrun fixture --scale 30` write it) instead of `fixtures/`.
        #[arg(long)]
        fixtures: Option<PathBuf>,
        /// The checkout holding scenarios/, snapshots/, migrations/p0/ and fixtures/ (default:
        /// found upward from the current directory).
        #[arg(long)]
        repo: Option<PathBuf>,
        /// P0 plan folder shaped like migrations/p0 (plan.yaml + deploy/verify/revert), the same
        /// as P0_PLAN_DIR; default: the built-in migrations/p0.
        #[arg(long, value_name = "DIR")]
        plan: Option<PathBuf>,
        /// Which scenarios: all (the only selection that can close HB-05), rollback (S07..S19
        /// without the signing libraries: for a plan without the governance tables), or ids
        /// such as S07,S08 (a partial result).
        #[arg(long, value_name = "all|rollback|IDS", default_value = "all")]
        scenarios: harness::scenario::contract::Selection,
        /// Run in this persistent environment (`dryrun env up`): clone scenarios are databases
        /// made from its `directus` database, own servers start on a copy of its data, and its
        /// baseline is fingerprinted before and after (never written). The backup set
        /// (--fixtures, default `fixtures/`) must hold the dump it was restored from.
        #[arg(long)]
        env: Option<String>,
    },
    /// Persistent dry-run environments (HB-09): a verified restore kept as a named server.
    #[command(
        after_help = "Examples:\n  dryrun env up --dump fixtures/directus_full_fixture.dump --sums fixtures/SHA256SUMS --name hb05\n  dryrun run --env hb05\n  dryrun env ls\n  dryrun env down hb05"
    )]
    Env {
        #[command(subcommand)]
        cmd: EnvCmd,
    },
    /// Canonicalize a file (canon-md-v0.1.0) or check a vectors file.
    #[command(
        after_help = "Examples:\n  dryrun canon unit.md --json\n  dryrun canon --vectors fixtures/canon/vectors.json"
    )]
    #[command(group(clap::ArgGroup::new("input").required(true).args(["file", "vectors"])))]
    Canon {
        /// File to canonicalize.
        file: Option<PathBuf>,
        /// Check a vectors file in the reference format instead.
        #[arg(long, conflicts_with_all = ["file", "json"])]
        vectors: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove containers and volumes left by runs whose process has exited (found by label).
    /// Never a live run's resources, never a persistent environment (`dryrun env down NAME`).
    #[command(
        after_help = "Example:\n  dryrun gc               # only runs whose owner process is gone"
    )]
    Gc {
        /// Also remove containers kept by `restore-test --keep` whose command has exited.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand, Debug)]
enum EnvCmd {
    /// Run the verified restore test and keep its server as a named, persistent environment.
    #[command(
        after_help = "Example:\n  dryrun env up --dump fixtures/directus_full_fixture.dump --sums fixtures/SHA256SUMS --name hb05"
    )]
    Up {
        /// The custom-format dump (pg_dump -F c).
        #[arg(long)]
        dump: PathBuf,
        /// SHA256SUMS listing the dump.
        #[arg(long)]
        sums: PathBuf,
        /// Row-count snapshot (*.psv) to compare with.
        #[arg(long)]
        rowcounts: Option<PathBuf>,
        /// Smoke checks: a checks YAML file, or `counts` for the generic checks only.
        /// Default: the bundled checks/hb08.yaml.
        #[arg(long, value_name = "FILE|counts", value_parser = harness::checks::ChecksChoice::parse_arg)]
        checks: Option<harness::checks::ChecksChoice>,
        /// Name of the environment and its container (default pg-dry-run-hb05-<UTC time>).
        #[arg(long)]
        name: Option<String>,
        /// Directory for restore-test.json and restore-test.md.
        #[arg(long)]
        report: Option<PathBuf>,
        /// pg_restore parallel jobs.
        #[arg(long, short = 'j', default_value_t = 2)]
        jobs: u32,
        /// PostgreSQL 16 image to use (must exist locally; default: postgres:16 or the offline build).
        #[arg(long, env = "PG_IMAGE")]
        image: Option<String>,
    },
    /// List the persistent environments: name, image, dump digest, created, state, how to connect.
    #[command(after_help = "Example:\n  dryrun env ls")]
    Ls,
    /// Remove one environment's container and volume (nothing else).
    #[command(after_help = "Example:\n  dryrun env down pg-dry-run-hb05-20261201")]
    Down {
        /// The environment's name (see `dryrun env ls`).
        name: String,
    },
}

pub fn main() -> ExitCode {
    // Snapshots are compared, never written, by the CLI.
    std::env::set_var("INSTA_UPDATE", "no");
    let cli = Cli::parse();
    // insta's workspace (its config) is the checkout, never found through `cargo metadata`;
    // set before any thread exists.
    let insta_root = match &cli.cmd {
        Cmd::Run { repo, .. } => harness::checkout::resolve_suite(repo.as_deref())
            .ok()
            .map(|h| h.root().to_path_buf()),
        _ => None,
    };
    std::env::set_var(
        "INSTA_WORKSPACE_ROOT",
        insta_root.unwrap_or_else(std::env::temp_dir),
    );
    harness::logging::init(&harness::logging::choose(
        cli.quiet,
        cli.verbose,
        cli.log.as_deref(),
        std::env::var("RUST_LOG").ok().as_deref(),
    ));
    let quiet = cli.quiet;
    harness::progress::enable_progress(!quiet);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error[runtime]: cannot start the async runtime: {e}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    let result = rt.block_on(dispatch(cli.cmd, quiet));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{}", e.report());
            ExitCode::from(e.exit_code())
        }
    }
}

async fn dispatch(cmd: Cmd, quiet: bool) -> Result<u8> {
    match cmd {
        Cmd::Impact {
            plan,
            fixtures,
            env,
            rules,
            report,
            repo,
            image,
            load,
        } => {
            if !(0.0..=10_000.0).contains(&load) {
                return Err(Error::bad_input(
                    "bad_load",
                    format!("--load {load}: the writes per second must be between 0 and 10000."),
                )
                .with_hint("e.g. --load 50 (two writers, 25 writes per second each); 0 runs without traffic."));
            }
            let home = harness::checkout::resolve_suite(repo.as_deref())?;
            let opts = harness::impact::ImpactOptions {
                repo: home.root().to_path_buf(),
                plan,
                fixtures,
                rules,
                image,
                load,
                env,
            };
            let docker = harness::docker::connect().await?;
            let run = harness::docker::RunIdentity::new();
            let _ = harness::docker::sweep(&docker, None, false).await;
            let r = with_interrupt(&run, harness::impact::run(&docker, &run, &opts)).await?;
            if let Some(dir) = &report {
                harness::impact::write(dir, &r)?;
            }
            let md = harness::impact::report::markdown(&r);
            // The console gets the verdict and the rule table; the report has the rest.
            let head = md.split("\n## ").next().unwrap_or(&md);
            print!("{head}");
            if let Some(dir) = &report {
                println!(
                    "impact report: {}/impact.md (+ impact.json, impact-junit.xml)",
                    dir.display()
                );
            }
            Ok(if r.passed {
                exit::OK
            } else {
                exit::CHECK_FAILED
            })
        }
        Cmd::Image {
            image,
            force,
            cache,
        } => {
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
        Cmd::Backup {
            source_container,
            db,
            user,
            out,
            no_content_hashes,
            force,
        } => {
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
        Cmd::Preflight(a) => {
            // Only --run-restore-test provisions anything: then Ctrl-C removes what it made.
            let run = harness::docker::RunIdentity::new();
            if a.run_restore_test {
                with_interrupt(&run, harness::preflight::cli::command(a, &run)).await
            } else {
                harness::preflight::cli::command(a, &run).await
            }
        }
        Cmd::RestoreTest {
            dump,
            sums,
            rowcounts,
            content,
            report,
            keep,
            jobs,
            durable,
            image,
            checks,
        } => {
            let opts = harness::restore::RestoreTestOptions {
                dump,
                sums,
                rowcounts,
                content,
                image,
                keep,
                keep_as: None,
                jobs,
                durable,
                role: "restore-test".into(),
                checks: checks.unwrap_or(harness::checks::ChecksChoice::Bundled),
            };
            // Inputs are verified before the engine is even contacted.
            let started = std::time::Instant::now();
            let inputs = harness::restore::preflight_inputs(&opts)?;
            if let Some(p) = &opts.rowcounts {
                if inputs.counts.as_ref().is_some_and(|c| !c.kind_stated) {
                    eprintln!("note: {}", harness::rowcounts::headerless_note(p));
                }
            }
            let docker = harness::docker::connect().await?;
            let run = harness::docker::RunIdentity::new();
            let _ = harness::docker::sweep(&docker, None, false).await;
            let r = with_interrupt(
                &run,
                harness::restore::restore_test_verified(&docker, &run, &opts, inputs, started),
            )
            .await?;
            if let Some(dir) = &report {
                harness::report::write_json(&dir.join("restore-test.json"), &r)?;
                harness::report::write_text(
                    &dir.join("restore-test.md"),
                    &harness::report::restore_markdown(&r),
                )?;
            }
            print!("{}", harness::report::restore_markdown(&r));
            if r.verdict != "pass" {
                let stage = r.stopped_at.map_or("unknown", |s| s.as_str());
                eprintln!(
                    "error[{stage}_failed]: the restore test of {} FAILED at stage {stage}: {}\n  hint: {}",
                    opts.dump.display(),
                    r.reason.as_deref().unwrap_or("see the report"),
                    match (&report, &r.kept) {
                        (Some(d), None) => format!("read {}/restore-test.md; the container was removed.", d.display()),
                        (None, None) => "the report above says what differs; the container was removed.".into(),
                        (Some(d), Some(k)) => format!("read {}/restore-test.md; the container {} was kept (connect: {}).", d.display(), k.container, k.connect),
                        (None, Some(k)) => format!("the report above says what differs; the container {} was kept (connect: {}).", k.container, k.connect),
                    }
                );
            }
            Ok(if r.verdict == "pass" {
                exit::OK
            } else {
                exit::CHECK_FAILED
            })
        }
        Cmd::Fixture {
            seed,
            scale,
            out,
            force,
            image,
            repo,
        } => {
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
        Cmd::Run {
            report,
            retry_approved_by,
            image,
            jobs,
            fixtures,
            env,
            repo,
            plan,
            scenarios,
        } => {
            let home = harness::checkout::resolve_suite(repo.as_deref())?;
            // Outside a checkout the report goes under the current directory, not the cache.
            let report = report.unwrap_or_else(|| match &home {
                harness::checkout::SuiteHome::Checkout(r) => r.join("out").join("report"),
                harness::checkout::SuiteHome::Bundled(_) => PathBuf::from("out").join("report"),
            });
            let repo = home.root().to_path_buf();
            if let harness::checkout::SuiteHome::Bundled(r) = &home {
                tracing::info!(suite = %r.display(), "no checkout here: running the suite built into dryrun");
            }
            let run = harness::docker::RunIdentity::new();
            let console = std::sync::Arc::new(harness::console::Console::new(quiet));
            let opts = harness::closure::RunOptions {
                repo,
                report: report.clone(),
                retry_approved_by,
                image,
                jobs,
                fixtures,
                run: run.clone(),
                env,
                progress: Some(console.clone()),
                plan,
                selection: scenarios,
            };
            let r = with_interrupt(&run, harness::closure::run(&opts)).await;
            console.finish();
            let r = r?;
            let a = r
                .attempts
                .last()
                .ok_or_else(|| Error::internal("no_attempt", "no attempt recorded"))?;
            console.print(&harness::console::summary(a, &report));
            Ok(if a.is_pass() {
                exit::OK
            } else {
                exit::CHECK_FAILED
            })
        }
        Cmd::Canon {
            file,
            vectors,
            json,
        } => {
            if let Some(v) = vectors {
                let r = canon_md::vectors::check_file(&v)
                    .map_err(|e| Error::bad_input("vectors_malformed", e.to_string()))?;
                print!("{}", r.render());
                return Ok(if r.failed() == 0 {
                    exit::OK
                } else {
                    exit::CHECK_FAILED
                });
            }
            // clap guarantees one of FILE / --vectors (usage error, exit 2, otherwise).
            let f = file.ok_or_else(|| {
                Error::internal("usage", "neither a file nor --vectors reached canon")
            })?;
            let bytes = std::fs::read(&f).map_err(|e| Error::io(&f, "read", e))?;
            let c = canon_md::canonicalize(&bytes)
                .map_err(|e| Error::bad_input("canon_error", format!("{}: {e}", f.display())))?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&c)
                        .map_err(|e| Error::internal("json", e.to_string()))?
                );
            } else {
                println!(
                    "canonical_sha256 {}  tokens {}  rule {}",
                    c.sha256_hex(),
                    c.tokens().len(),
                    canon_md::RULE
                );
                for t in c.tokens() {
                    println!(
                        "{}\t[{}, {})\t{}",
                        t.position,
                        t.byte_start,
                        t.byte_end,
                        c.token_text(t)
                    );
                }
            }
            Ok(exit::OK)
        }
        Cmd::Env { cmd } => env_cmd(cmd).await,
        Cmd::Gc { all } => {
            let docker = harness::docker::connect().await?;
            let removed = harness::docker::sweep(&docker, None, all).await?;
            for r in &removed {
                println!("removed {} {} (run {})", r.kind, r.id, r.run);
            }
            println!("{} resource(s) removed", removed.len());
            Ok(exit::OK)
        }
    }
}

async fn env_cmd(cmd: EnvCmd) -> Result<u8> {
    match cmd {
        EnvCmd::Up {
            dump,
            sums,
            rowcounts,
            checks,
            name,
            report,
            jobs,
            image,
        } => {
            let name = name.unwrap_or_else(harness::envs::default_name);
            harness::envs::validate_name(&name)?;
            let opts = harness::restore::RestoreTestOptions {
                dump,
                sums,
                rowcounts,
                content: None,
                image,
                keep: false,
                keep_as: None,
                jobs,
                durable: true,
                role: harness::envs::ROLE.into(),
                checks: checks.unwrap_or(harness::checks::ChecksChoice::Bundled),
            };
            // Inputs are verified before the engine is even contacted.
            let started = std::time::Instant::now();
            let inputs = harness::restore::preflight_inputs(&opts)?;
            let docker = harness::docker::connect().await?;
            let run = harness::docker::RunIdentity::new();
            let _ = harness::docker::sweep(&docker, None, false).await;
            let r = with_interrupt(
                &run,
                harness::envs::up(&docker, &run, &opts, &name, inputs, started),
            )
            .await?;
            if let Some(dir) = &report {
                harness::report::write_json(&dir.join("restore-test.json"), &r)?;
                harness::report::write_text(
                    &dir.join("restore-test.md"),
                    &harness::report::restore_markdown(&r),
                )?;
            }
            print!("{}", harness::report::restore_markdown(&r));
            match &r.kept {
                Some(k) if r.verdict == "pass" => {
                    println!(
                        "\nenvironment {} is up\n  connect: {}\n  run the scenarios in it: dryrun run --env {}\n  remove it: {}",
                        k.container, k.connect, k.container, k.remove
                    );
                    Ok(exit::OK)
                }
                _ => {
                    let stage = r.stopped_at.map_or("unknown", |s| s.as_str());
                    eprintln!(
                        "error[{stage}_failed]: the restore test of {} FAILED at stage {stage}: {}; no environment was kept.\n  hint: fix the backup set, then run `dryrun env up` again.",
                        opts.dump.display(),
                        r.reason.as_deref().unwrap_or("see the report"),
                    );
                    Ok(exit::CHECK_FAILED)
                }
            }
        }
        EnvCmd::Ls => {
            let docker = harness::docker::connect().await?;
            let envs = harness::envs::list(&docker).await?;
            if envs.is_empty() {
                println!(
                    "no dry-run environments (make one with `dryrun env up --dump F --sums S`)"
                );
            }
            for e in &envs {
                println!(
                    "{}\n  image {} · dump {} ({}) · created {} · {}\n  connect: {}",
                    e.name,
                    e.image,
                    e.short_digest(),
                    e.dump_name,
                    e.created,
                    e.state,
                    e.connect
                );
            }
            Ok(exit::OK)
        }
        EnvCmd::Down { name } => {
            let docker = harness::docker::connect().await?;
            let removed = harness::envs::down(&docker, &name).await?;
            for r in &removed {
                println!("removed {} {}", r.kind, r.id);
            }
            println!("environment {name} removed");
            Ok(exit::OK)
        }
    }
}

/// Run `fut`, but on SIGINT/SIGTERM drop it (its containers remove themselves) and on a
/// panic catch it; either way sweep the run's labelled resources before reporting.
async fn with_interrupt<T>(
    run: &harness::docker::RunIdentity,
    fut: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    use futures_util::FutureExt;
    use harness::error::Category;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Error::internal("signal", e.to_string()))?;
    let guarded = std::panic::AssertUnwindSafe(fut).catch_unwind();
    let res = tokio::select! {
        r = guarded => match r {
            Ok(r) => r,
            Err(p) => {
                let what = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Err(Error::internal("panic", format!("Internal error (panic: {what}); the run's containers and volumes were removed.")))
            }
        },
        _ = tokio::signal::ctrl_c() => Err(Error::new(Category::Interrupted, "interrupted", "Interrupted by SIGINT; the run's containers and volumes were removed.")),
        _ = term.recv() => Err(Error::new(Category::Interrupted, "interrupted", "Interrupted by SIGTERM; the run's containers and volumes were removed.")),
    };
    if res.is_err() {
        match harness::docker::connect().await {
            Ok(docker) => {
                if let Err(e) = harness::docker::sweep_run(&docker, &run.run_id).await {
                    tracing::warn!(error = %e.message, run = %run.run_id, "sweep after the interruption failed; `dryrun gc` removes the rest");
                }
            }
            Err(e) => tracing::warn!(error = %e.message, "cannot reach Docker to sweep the run"),
        }
    }
    res
}
