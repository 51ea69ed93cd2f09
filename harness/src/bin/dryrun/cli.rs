//! The command line's clap definitions: global options, the subcommands and their options.
//! Help texts and defaults live here; what each command does is in `cmd/`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "dryrun",
    version,
    about = "dot-iu-cutter P0 dry-run harness: verified backups, restore tests and the HB-05 rollback scenarios in isolated PostgreSQL 16 containers",
    after_help = "Examples:\n  dryrun image\n  dryrun restore-test --dump fixtures/directus_full_fixture.dump --sums fixtures/SHA256SUMS\n  dryrun run --report out/report\n\nLogs go to stderr: -v info, -vv debug, -q errors only; DRYRUN_LOG or RUST_LOG take a filter (e.g. harness=debug). Exit codes: 0 pass, 1 check failed, 2 usage, 3 bad input, 4 environment, 5 retry needs approval, 70 internal, 130 interrupted."
)]
pub struct Cli {
    /// Log filter (RUST_LOG syntax, e.g. `info` or `harness=debug`); RUST_LOG is honoured when
    /// this is not set. Default: warnings and errors only.
    #[arg(long, global = true, env = "DRYRUN_LOG")]
    pub log: Option<String>,
    /// More logs on stderr: -v info, -vv debug (overrides --log / DRYRUN_LOG / RUST_LOG).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Errors only on stderr, and no progress bar.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Make sure a PostgreSQL 16 image exists: PG_IMAGE, postgres:16, or build dot-iu-cutter/postgres:16 offline.
    #[command(after_help = "Example:\n  dryrun image            # a no-op when the image exists")]
    Image(ImageArgs),
    /// Take a read-only backup of a running source container: custom dump, schema-only SQL, exact row counts, SHA256SUMS.
    #[command(
        after_help = "Example:\n  dryrun backup --source-container directus-db --db directus --user directus --out backups/2026-12-01"
    )]
    Backup(BackupArgs),
    /// Execution day's go/no-go gate: the fresh backup's age, its checksums, a passed restore test of this dump and the HB-05 closure of this plan; GO exits 0, NO-GO 1.
    #[command(
        after_help = "Example:\n  dryrun preflight --dump backups/directus_full_20261204T170000Z.dump --source-timezone Europe/Berlin \\\n    --restore-report out/restore --closure out/report --plan migrations/p0 --report out/preflight"
    )]
    Preflight(harness::preflight::cli::PreflightArgs),
    /// Verify a dump against SHA256SUMS, restore it into a fresh PostgreSQL 16 container and smoke-test it.
    #[command(
        after_help = "Example:\n  dryrun restore-test --dump fixtures/directus_full_fixture.dump --sums fixtures/SHA256SUMS \\\n    --rowcounts fixtures/directus_rowcounts_fixture.psv --report out/report"
    )]
    RestoreTest(RestoreTestArgs),
    /// Generate the Directus-shaped fixture (deterministic) and back it up into a directory.
    #[command(
        after_help = "Example:\n  dryrun fixture --seed 1 --scale 30 --out out/fixture-prod"
    )]
    Fixture(FixtureArgs),
    /// What the plan does to the database while it runs: lint (squawk), then every deploy and
    /// revert statement run one at a time on a restored copy of the backup set (locks of its own
    /// backend on pre-existing relations, rewrites, sequential scans, durations), judged against
    /// checks/p0-impact.yaml; exit 0 when every rule is kept, 1 on a breach.
    #[command(
        after_help = "Examples:\n  dryrun impact\n  dryrun impact --plan ../their-p0 --fixtures /backups/20261204 --load 50 --report out/impact\n  dryrun impact --plan ../their-p0 --env pg-dry-run-hb05 --load 50 --report out/impact"
    )]
    Impact(ImpactArgs),
    /// Run the HB-05 scenarios (every scenarios/*.yaml) and write the closure report (Markdown, JSON, JUnit XML); exit 0 only when all pass.
    #[command(
        after_help = "Examples:\n  dryrun run                                   # from anywhere inside the checkout\n  dryrun run --report out/report -j 4\n  dryrun run --retry-approved-by 'A. Approver'  # after a failed attempt (exit 5 without it)\n  dryrun run --fixtures out/fixture-prod        # on another backup set"
    )]
    Run(RunArgs),
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
    Canon(CanonArgs),
    /// Remove containers and volumes left by runs whose process has exited (found by label).
    /// Never a live run's resources, never a persistent environment (`dryrun env down NAME`).
    #[command(
        after_help = "Example:\n  dryrun gc               # only runs whose owner process is gone"
    )]
    Gc(GcArgs),
}

// `dryrun image`'s options (a plain comment: a doc comment would change the command's help).
#[derive(clap::Args, Debug)]
#[group(skip)]
pub struct ImageArgs {
    /// Use this image instead (must exist locally).
    #[arg(long, env = "PG_IMAGE")]
    pub image: Option<String>,
    /// Rebuild the offline image even when one with the same recipe exists.
    #[arg(long)]
    pub force: bool,
    /// Cache directory for the rootfs and the wheel.
    #[arg(long, default_value = ".cache/image")]
    pub cache: PathBuf,
}

// `dryrun backup`'s options (a plain comment: a doc comment would change the command's help).
#[derive(clap::Args, Debug)]
#[group(skip)]
pub struct BackupArgs {
    /// Name or id of the production database's container.
    #[arg(long)]
    pub source_container: String,
    /// Database to back up.
    #[arg(long, default_value = "directus")]
    pub db: String,
    /// Database role that reads it (sessions are read-only).
    #[arg(long, default_value = "directus")]
    pub user: String,
    /// Output directory (refused if it already holds a backup set, unless --force).
    #[arg(long)]
    pub out: PathBuf,
    /// Do not write the per-table content hashes (directus_content_<stamp>.json).
    #[arg(long)]
    pub no_content_hashes: bool,
    /// Write into a folder that already holds a backup set (replaces its SHA256SUMS).
    #[arg(long)]
    pub force: bool,
}

// `dryrun restore-test`'s options (a plain comment: a doc comment would change the command's help).
#[derive(clap::Args, Debug)]
#[group(skip)]
pub struct RestoreTestArgs {
    /// The custom-format dump (pg_dump -F c).
    #[arg(long)]
    pub dump: PathBuf,
    /// SHA256SUMS listing the dump.
    #[arg(long)]
    pub sums: PathBuf,
    /// Row-count snapshot (*.psv) to compare with: `# exact` (as `backup` writes it), `# estimate`,
    /// or headerless (the operations team's n_live_tup output, read as estimates).
    #[arg(long)]
    pub rowcounts: Option<PathBuf>,
    /// Content hashes written by `dryrun backup` to compare every restored table with
    /// (default: the `*_content_<stamp>.json` next to the dump when SHA256SUMS lists it).
    #[arg(long)]
    pub content: Option<PathBuf>,
    /// Smoke checks: a checks YAML file, or `counts` for the generic checks only
    /// (checksums, clean restore, table set and counts). Default: the bundled checks/hb08.yaml.
    #[arg(long, value_name = "FILE|counts", value_parser = harness::checks::ChecksChoice::parse_arg)]
    pub checks: Option<harness::checks::ChecksChoice>,
    /// Directory for restore-test.json and restore-test.md.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Keep the container and volume afterwards, to look into (labelled kept: other runs'
    /// start-up sweeps and `dryrun gc` leave it; the report names it, how to connect and how
    /// to remove it; `dryrun gc --all` removes kept containers once their command has exited).
    /// For a named, long-lived server that `dryrun run --env` can use, see `dryrun env up`.
    #[arg(long)]
    pub keep: bool,
    /// pg_restore parallel jobs.
    #[arg(long, short = 'j', default_value_t = 2)]
    pub jobs: u32,
    /// Restore with production-like durability settings instead of the fast throwaway ones.
    #[arg(long)]
    pub durable: bool,
    /// PostgreSQL 16 image to use (must exist locally; default: postgres:16 or the offline build).
    #[arg(long, env = "PG_IMAGE")]
    pub image: Option<String>,
}

// `dryrun fixture`'s options (a plain comment: a doc comment would change the command's help).
#[derive(clap::Args, Debug)]
#[group(skip)]
pub struct FixtureArgs {
    /// Seed of the deterministic generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Scale factor: 1 is the committed fixture; 30 gives a production-sized dump (about 68 MB).
    #[arg(long, default_value_t = 1)]
    pub scale: u32,
    /// Output directory (required: the committed `fixtures/` is never written by default).
    #[arg(long)]
    pub out: PathBuf,
    /// Write into a folder that already holds a backup set (e.g. `--out fixtures --force`).
    #[arg(long)]
    pub force: bool,
    /// PostgreSQL 16 image to use (must exist locally; default: postgres:16 or the offline build).
    #[arg(long, env = "PG_IMAGE")]
    pub image: Option<String>,
    /// The checkout (default: found upward from the current directory).
    #[arg(long)]
    pub repo: Option<PathBuf>,
}

// `dryrun impact`'s options (a plain comment: a doc comment would change the command's help).
#[derive(clap::Args, Debug)]
#[group(skip)]
pub struct ImpactArgs {
    /// The plan: a folder shaped like migrations/p0 or a Sqitch project (default: the built-in P0).
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// The backup set to restore and run the plan on (default: the bundled fixture).
    #[arg(long, conflicts_with = "env")]
    pub fixtures: Option<PathBuf>,
    /// Run the plan on a clone of this persistent dry-run environment's baseline (`dryrun
    /// env up`; the full-size copy, no restore) instead of restoring a backup set.
    #[arg(long)]
    pub env: Option<String>,
    /// The rule set (default: checks/p0-impact.yaml).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Write impact.md, impact.json and impact-junit.xml here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// The checkout holding fixtures/ (default: found from the current directory, or the bundled suite).
    #[arg(long)]
    pub repo: Option<PathBuf>,
    /// PostgreSQL 16 image to use (must exist locally; default: postgres:16 or the offline build).
    #[arg(long, env = "PG_IMAGE")]
    pub image: Option<String>,
    /// Directus-like traffic while the plan runs: this many writes per second (two writer
    /// sessions updating rows of the existing tables the plan names); 0 for none.
    #[arg(long, default_value_t = 0.0)]
    pub load: f64,
}

// `dryrun run`'s options (a plain comment: a doc comment would change the command's help).
#[derive(clap::Args, Debug)]
#[group(skip)]
pub struct RunArgs {
    /// Directory of the closure report (default: out/report in the checkout).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Name of the Đ32 approver: required to run again after a failed attempt.
    #[arg(long)]
    pub retry_approved_by: Option<String>,
    /// PostgreSQL 16 image to use (must exist locally; default: postgres:16 or the offline build).
    #[arg(long, env = "PG_IMAGE")]
    pub image: Option<String>,
    /// Scenarios run at the same time (4 measured best on 2 cores: container starts and
    /// restores wait on I/O while clone scenarios use the CPU).
    #[arg(long, short = 'j', default_value_t = 4)]
    pub jobs: usize,
    /// Run on this backup set (a folder with one *.dump, SHA256SUMS and one *.psv, as
    /// `dryrun backup` or `dryrun fixture --scale 30` write it) instead of `fixtures/`.
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
    /// The checkout holding scenarios/, snapshots/, migrations/p0/ and fixtures/ (default:
    /// found upward from the current directory).
    #[arg(long)]
    pub repo: Option<PathBuf>,
    /// P0 plan folder shaped like migrations/p0 (plan.yaml + deploy/verify/revert), the same
    /// as P0_PLAN_DIR; default: the built-in migrations/p0.
    #[arg(long, value_name = "DIR")]
    pub plan: Option<PathBuf>,
    /// Which scenarios: all (the only selection that can close HB-05), rollback (S07..S19
    /// without the signing libraries: for a plan without the governance tables), or ids
    /// such as S07,S08 (a partial result).
    #[arg(long, value_name = "all|rollback|IDS", default_value = "all")]
    pub scenarios: harness::scenario::contract::Selection,
    /// Run in this persistent environment (`dryrun env up`): clone scenarios are databases
    /// made from its `directus` database, own servers start on a copy of its data, and its
    /// baseline is fingerprinted before and after (never written). The backup set
    /// (--fixtures, default `fixtures/`) must hold the dump it was restored from.
    #[arg(long)]
    pub env: Option<String>,
}

// `dryrun canon`'s options (a plain comment: a doc comment would change the command's help).
#[derive(clap::Args, Debug)]
#[group(skip)]
pub struct CanonArgs {
    /// File to canonicalize.
    pub file: Option<PathBuf>,
    /// Check a vectors file in the reference format instead.
    #[arg(long, conflicts_with_all = ["file", "json"])]
    pub vectors: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

// `dryrun gc`'s options (a plain comment: a doc comment would change the command's help).
#[derive(clap::Args, Debug)]
#[group(skip)]
pub struct GcArgs {
    /// Also remove containers kept by `restore-test --keep` whose command has exited.
    #[arg(long)]
    pub all: bool,
}

#[derive(Subcommand, Debug)]
pub enum EnvCmd {
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
