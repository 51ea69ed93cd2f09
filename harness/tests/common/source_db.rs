//! A non-Directus PostgreSQL 16 source database for the tests, in a labelled container of this
//! test process, and its backups made both ways: `dryrun backup`, and SPEC §2's commands by hand.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use harness::container::{PgContainer, PgSpec, DB_NAME, DB_USER};
use harness::docker::RunIdentity;

/// Several schemas, a partitioned table with two partitions, a populated and an unpopulated
/// materialized view, an RLS policy naming a role the restore target lacks (`reporting_ro`, the
/// benign missing-role case like production's `workflow_admin`), a sequence, a view, and an
/// extension (the first of a list both images ship one of: the official image's contrib, the
/// offline build's `vector`; none is an error). No `public.dot_tools`, no TAC tables.
pub const SOURCE_SQL: &str = r#"
CREATE ROLE reporting_ro NOLOGIN;
DO $$ DECLARE e text; BEGIN
  SELECT name INTO e FROM pg_available_extensions
   WHERE name IN ('pgcrypto', 'citext', 'pg_trgm', 'hstore', 'btree_gist', 'uuid-ossp', 'ltree', 'cube', 'isn', 'intarray', 'tablefunc', 'fuzzystrmatch', 'unaccent', 'vector')
   ORDER BY name LIMIT 1;
  IF e IS NULL THEN
    RAISE EXCEPTION 'the image ships none of the extensions the source database needs';
  END IF;
  EXECUTE format('CREATE EXTENSION %I', e);
END $$;
CREATE SCHEMA sales;
CREATE SCHEMA audit;
CREATE SEQUENCE sales.order_no START 1000;
CREATE TABLE sales.customer (id serial PRIMARY KEY, name text NOT NULL, region text NOT NULL);
INSERT INTO sales.customer (name, region)
  SELECT 'customer ' || g, (ARRAY['north','south','east'])[1 + g % 3] FROM generate_series(1, 40) g;
CREATE TABLE sales.orders (
  order_no bigint NOT NULL DEFAULT nextval('sales.order_no'),
  placed date NOT NULL,
  customer_id int NOT NULL REFERENCES sales.customer (id),
  amount numeric(10,2) NOT NULL
) PARTITION BY RANGE (placed);
CREATE TABLE sales.orders_2024 PARTITION OF sales.orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE sales.orders_2025 PARTITION OF sales.orders FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO sales.orders (placed, customer_id, amount)
  SELECT date '2024-01-01' + (g * 2), 1 + g % 40, (g % 97) * 1.5 FROM generate_series(0, 299) g;
CREATE VIEW sales.customer_names AS SELECT id, name FROM sales.customer;
CREATE MATERIALIZED VIEW sales.revenue_by_region AS
  SELECT c.region, sum(o.amount) AS revenue FROM sales.orders o JOIN sales.customer c ON c.id = o.customer_id GROUP BY c.region
  WITH DATA;
CREATE TABLE audit.event (id bigserial PRIMARY KEY, what text NOT NULL);
INSERT INTO audit.event (what) SELECT 'event ' || (g % 5) FROM generate_series(1, 25) g;
ALTER TABLE audit.event ENABLE ROW LEVEL SECURITY;
CREATE POLICY event_reader ON audit.event FOR SELECT TO reporting_ro USING (true);
CREATE MATERIALIZED VIEW audit.event_summary AS SELECT what, count(*) AS n FROM audit.event GROUP BY what WITH NO DATA;
CREATE TABLE public.settings (k text PRIMARY KEY, v text);
INSERT INTO public.settings VALUES ('a', '1'), ('b', '2'), ('c', '3');
"#;

/// The team's row-count query (SPEC §2).
pub const N_LIVE_TUP_SQL: &str =
    "SELECT schemaname, relname, n_live_tup FROM pg_stat_user_tables ORDER BY schemaname, relname";

/// The source database's container (removed on drop, also while a failed test unwinds).
pub struct SourceDb {
    pub rt: tokio::runtime::Runtime,
    pub pg: Option<PgContainer>,
    pub name: String,
}

fn docker_exec(name: &str, args: &[&str], stdin: Option<&[u8]>) -> (i32, Vec<u8>, String) {
    let mut cmd = Command::new("docker");
    cmd.arg("exec");
    if stdin.is_some() {
        cmd.arg("-i");
    }
    cmd.arg(name).args(args);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("docker CLI");
    if let Some(input) = stdin {
        use std::io::Write;
        let mut s = child.stdin.take().expect("stdin");
        s.write_all(input).expect("write to docker exec");
    }
    let out = child.wait_with_output().expect("docker exec");
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `sha256sum` on the host (the team's tool), one line per file as it prints it.
pub fn host_sha256sum(files: &[PathBuf]) -> String {
    let out = Command::new("sha256sum")
        .args(files)
        .output()
        .expect("host sha256sum");
    assert!(out.status.success(), "sha256sum failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl SourceDb {
    /// Start the source container (this process owns it) and load [`SOURCE_SQL`], then ANALYZE.
    pub fn start() -> SourceDb {
        let db = SourceDb::start_empty();
        db.psql_stdin(SOURCE_SQL);
        db.psql_stdin("ANALYZE;");
        db
    }

    /// Start the source container with an empty database.
    pub fn start_empty() -> SourceDb {
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        let pg = rt.block_on(async {
            let docker = harness::docker::connect()
                .await
                .unwrap_or_else(|e| panic!("{}", e.report()));
            let image = harness::image::resolve(&docker, std::env::var("PG_IMAGE").ok().as_deref())
                .await
                .unwrap_or_else(|e| panic!("{}", e.report()));
            let mut spec = PgSpec::new(&image.reference, "test-source");
            spec.publish = false;
            PgContainer::start(&docker, &RunIdentity::new(), &spec)
                .await
                .unwrap_or_else(|e| panic!("starting the source container: {}", e.report()))
        });
        let name = pg.name.clone();
        SourceDb {
            rt,
            pg: Some(pg),
            name,
        }
    }

    /// `pg_restore` of `dump` into the source database, streamed into the container (owners
    /// and privileges kept, as on the production server; every error fails the test).
    pub fn pg_restore(&self, dump: &Path) {
        let bytes = std::fs::read(dump).expect("read dump");
        let (code, _, err) = docker_exec(
            &self.name,
            &[
                "pg_restore",
                "--exit-on-error",
                "-U",
                DB_USER,
                "-d",
                DB_NAME,
            ],
            Some(&bytes),
        );
        assert_eq!(code, 0, "pg_restore into the source failed: {err}");
    }

    /// Run a script through `docker exec -i … psql` (ON_ERROR_STOP); returns stdout.
    pub fn psql_stdin(&self, sql: &str) -> String {
        let (code, out, err) = docker_exec(
            &self.name,
            &[
                "psql",
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-U",
                DB_USER,
                "-d",
                DB_NAME,
                "-tA",
            ],
            Some(sql.as_bytes()),
        );
        assert_eq!(code, 0, "psql in the source failed: {err}");
        String::from_utf8_lossy(&out).into_owned()
    }

    /// `pg_restore -l` of `dump`, streamed into the source container's PG 16 binaries.
    pub fn pg_restore_list(&self, dump: &Path) -> String {
        let bytes = std::fs::read(dump).expect("read dump");
        let (code, out, err) = docker_exec(&self.name, &["pg_restore", "-l"], Some(&bytes));
        assert_eq!(code, 0, "pg_restore -l failed: {err}");
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The backup exactly as SPEC §2's commands make it: `docker exec … pg_dump` to files on
    /// the host, the `n_live_tup` query with `-tAF "|"` (headerless), pg_dump's stderr kept,
    /// and `sha256sum <absolute path>` appended to SHA256SUMS for each file. Returns the files.
    pub fn backup_like_spec(&self, dir: &Path, stamp: &str) -> SpecSet {
        std::fs::create_dir_all(dir).expect("create dir");
        let dump = dir.join(format!("ops_full_{stamp}.dump"));
        let schema = dir.join(format!("ops_schema_{stamp}.sql"));
        let counts = dir.join(format!("ops_rowcounts_{stamp}.psv"));
        let stderr = dir.join("pg_dump.stderr");
        let (code, out, err) = docker_exec(
            &self.name,
            &[
                "pg_dump", "-U", DB_USER, "-d", DB_NAME, "-F", "c", "-Z", "6",
            ],
            None,
        );
        assert_eq!(code, 0, "pg_dump: {err}");
        std::fs::write(&dump, out).unwrap();
        let mut all_err = err;
        let (code, out, err) = docker_exec(
            &self.name,
            &["pg_dump", "-U", DB_USER, "-d", DB_NAME, "--schema-only"],
            None,
        );
        assert_eq!(code, 0, "pg_dump --schema-only: {err}");
        std::fs::write(&schema, out).unwrap();
        all_err.push_str(&err);
        std::fs::write(&stderr, all_err).unwrap();
        let (code, out, err) = docker_exec(
            &self.name,
            &[
                "psql",
                "-U",
                DB_USER,
                "-d",
                DB_NAME,
                "-tAF",
                "|",
                "-c",
                N_LIVE_TUP_SQL,
            ],
            None,
        );
        assert_eq!(code, 0, "psql n_live_tup: {err}");
        std::fs::write(&counts, out).unwrap();
        let files = [dump.clone(), schema.clone(), counts.clone(), stderr.clone()];
        let abs: Vec<PathBuf> = files
            .iter()
            .map(|f| f.canonicalize().expect("absolute path"))
            .collect();
        std::fs::write(dir.join("SHA256SUMS"), host_sha256sum(&abs)).unwrap();
        SpecSet {
            dir: dir.to_path_buf(),
            dump,
            schema,
            counts,
            stderr,
        }
    }

    /// Remove the container now.
    pub fn remove(mut self) {
        if let Some(pg) = self.pg.take() {
            self.rt
                .block_on(pg.remove())
                .unwrap_or_else(|e| panic!("removing the source container: {}", e.report()));
        }
    }
}

/// A backup set made by hand (SPEC §2).
#[derive(Debug, Clone)]
pub struct SpecSet {
    pub dir: PathBuf,
    pub dump: PathBuf,
    pub schema: PathBuf,
    pub counts: PathBuf,
    pub stderr: PathBuf,
}

impl SpecSet {
    /// The same set after its files were moved together into `to` (the sums keep the old
    /// absolute paths, as the team's did).
    pub fn moved_to(&self, to: &Path) -> SpecSet {
        std::fs::rename(&self.dir, to).expect("move the backup folder");
        let f = |p: &Path| to.join(p.file_name().expect("file name"));
        SpecSet {
            dir: to.to_path_buf(),
            dump: f(&self.dump),
            schema: f(&self.schema),
            counts: f(&self.counts),
            stderr: f(&self.stderr),
        }
    }
}
