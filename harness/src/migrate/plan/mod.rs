//! The migration plan as data, in either format: plan.yaml (migrations/p0's layout) or a
//! Sqitch project ([`sqitch`]); its steps' scripts, digest, and the relations it names.

pub mod sqitch;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, IoContext, Result};
use crate::fingerprint::sha256_hex;

/// The repository's `migrations/p0`, embedded whole so the binary stands alone (plan.yaml,
/// archive.sql, deploy/, verify/, revert/; a file the plan names is looked up here by its path).
/// `build.rs` re-runs the build when a file is added there.
static EMBEDDED: include_dir::Dir<'static> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/../migrations/p0");

/// Where a plan came from (for messages and the report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanSource {
    /// Compiled into the binary from the repository's `migrations/p0`.
    Embedded,
    /// Read at runtime from this directory.
    Dir(PathBuf),
}

/// One step of the plan with the text of its three files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub name: String,
    pub deploy: String,
    pub verify: String,
    pub revert: String,
    /// `(path relative to the plan directory, sha256)` of the deploy, verify and revert files.
    pub files: Vec<(String, String)>,
}

/// The layout a plan was read from ([`Plan::format`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum PlanFormat {
    /// This project's own layout (`migrations/p0`): plan.yaml, archive.sql, deploy/ verify/ revert/.
    HarnessYaml,
    /// A Sqitch project: sqitch.plan (+ sqitch.conf), deploy/ verify/ revert/ ([`sqitch`]).
    Sqitch,
}

/// What a plan's verify scripts do when their step is not in place, which decides how the
/// runner's quiet pre-check of [`Runner::deploy`] reads an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum VerifyConvention {
    /// `RAISE EXCEPTION` (SQLSTATE P0001) = "not in place" (plan.yaml, migrations/p0); any other
    /// error in the pre-check is a failure-stop.
    RaisesP0001,
    /// Sqitch's: the verify fails with any error (undefined table 42P01, division by zero 22012
    /// from `SELECT 1/count(*)`, ...) = "not in place". Timeouts and a lost connection in the
    /// pre-check still stop the run: they say nothing about the step.
    AnyError,
}

/// The ordered steps of P0 plus its archive generator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// `migration:` of plan.yaml (`p0`); a Sqitch project's `%project`.
    pub migration: String,
    /// `schema:` of plan.yaml (`cutter_governance`): the schema P0 owns. For a Sqitch project,
    /// the one schema its deploy scripts `CREATE SCHEMA` (a project creating none or several
    /// is refused).
    pub schema: String,
    pub steps: Vec<Step>,
    /// `archive.sql`: generator of "export rows as JSON lines" queries, run before a revert.
    /// Generated ([`sqitch::generic_archive_sql`]) when the plan brings none.
    pub archive_sql: String,
    /// `(relative path, sha256)` of `plan.yaml` and `archive.sql`, or of `sqitch.plan` (and
    /// `sqitch.conf` when present).
    pub files: Vec<(String, String)>,
    pub source: PlanSource,
    /// How the pre-check reads a failing verify.
    pub verify_convention: VerifyConvention,
    format: PlanFormat,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    #[serde(default)]
    migration: Option<String>,
    schema: String,
    steps: Vec<StepFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    name: String,
    deploy: String,
    verify: String,
    revert: String,
}

impl Plan {
    /// The plan compiled into the binary (the repository's `migrations/p0`).
    pub fn embedded() -> Result<Plan> {
        Plan::build(PlanSource::Embedded, Path::new("migrations/p0"), |rel| {
            EMBEDDED
                .get_file(rel)
                .and_then(|f| f.contents_utf8())
                .map(str::to_string)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::PlanFileNotEmbedded,
                        format!("The embedded P0 plan names {rel}, which is not compiled into the binary."),
                    )
                    .with_hint("Put the file under migrations/p0 (UTF-8) and rebuild.")
                })
        })
    }

    /// Read a plan from a directory: laid out like `migrations/p0` (plan.yaml, archive.sql,
    /// deploy/, verify/, revert/) or a Sqitch project (sqitch.plan, deploy/, verify/, revert/;
    /// see [`sqitch`]). A directory holding both plan.yaml and sqitch.plan is refused.
    pub fn load(dir: &Path) -> Result<Plan> {
        let read = |rel: &str| {
            let path = dir.join(rel);
            std::fs::read_to_string(&path).at(&path, "read")
        };
        let yaml = dir.join("plan.yaml").is_file();
        let sqitch = dir.join("sqitch.plan").is_file();
        match (yaml, sqitch) {
            (true, true) => Err(Error::new(
                ErrorKind::AmbiguousPlan,
                format!(
                    "{} and {} both exist, so it is not clear which plan to prove.",
                    dir.join("plan.yaml").display(),
                    dir.join("sqitch.plan").display()
                ),
            )
            .with_hint("Keep one of them in the folder given to --plan.")),
            (false, true) => Plan::load_sqitch(dir, &read),
            _ => Plan::build(PlanSource::Dir(dir.to_path_buf()), dir, read),
        }
    }

    fn load_sqitch(dir: &Path, read: &dyn Fn(&str) -> Result<String>) -> Result<Plan> {
        let exists = |rel: &str| dir.join(rel).is_file();
        let project = sqitch::load(dir, read, &exists)?;
        if !is_identifier(&project.schema) {
            return Err(Error::new(
                ErrorKind::PlanSchema,
                format!(
                    "{}: the schema the deploy scripts create, {:?}, is not a plain lowercase identifier.",
                    dir.join("sqitch.plan").display(),
                    project.schema
                ),
            )
            .with_hint("Name the plan's schema in lowercase letters, digits and underscores (P0 owns cutter_governance)."));
        }
        let mut names = std::collections::BTreeSet::new();
        for s in &project.steps {
            if !names.insert(s.name.as_str()) {
                return Err(Error::new(
                    ErrorKind::MalformedPlan,
                    format!(
                        "{}: two steps are both named {}.",
                        dir.join("sqitch.plan").display(),
                        s.name
                    ),
                )
                .with_hint(
                    "Rename one of the changes (a change reworked after tag T is named name@T).",
                ));
            }
        }
        Ok(Plan {
            migration: project.plan.project.clone(),
            archive_sql: sqitch::generic_archive_sql(&project.schema),
            schema: project.schema,
            steps: project.steps,
            files: project.files,
            source: PlanSource::Dir(dir.to_path_buf()),
            verify_convention: VerifyConvention::AnyError,
            format: PlanFormat::Sqitch,
        })
    }

    fn build(
        source: PlanSource,
        dir: &Path,
        read: impl Fn(&str) -> Result<String>,
    ) -> Result<Plan> {
        let plan_path = dir.join("plan.yaml");
        let plan_text = read("plan.yaml")?;
        let parsed: PlanFile = serde_yaml_ng::from_str(&plan_text).map_err(|e| {
            let at = match e.location() {
                Some(l) => format!(" at line {} column {}", l.line(), l.column()),
                None => String::new(),
            };
            Error::new(
                ErrorKind::MalformedPlan,
                format!("{}{at} is not a valid P0 plan: {e}.", plan_path.display()),
            )
            .with_hint("plan.yaml needs `schema:` and `steps:` with name, deploy, verify and revert per step.")
        })?;
        let bad = |msg: String| {
            Error::new(
                ErrorKind::MalformedPlan,
                format!("{}: {msg}", plan_path.display()),
            )
        };
        if parsed.steps.is_empty() {
            return Err(bad("the plan has no steps.".into()));
        }
        if !is_identifier(&parsed.schema) {
            return Err(bad(format!(
                "schema {:?} is not a plain lowercase identifier.",
                parsed.schema
            )));
        }
        let mut steps: Vec<Step> = Vec::with_capacity(parsed.steps.len());
        for s in parsed.steps {
            if s.name.trim().is_empty() {
                return Err(bad("a step has an empty name.".into()));
            }
            if steps.iter().any(|o| o.name == s.name) {
                return Err(bad(format!("step {} is listed twice.", s.name)));
            }
            let mut files = Vec::with_capacity(3);
            let mut texts = Vec::with_capacity(3);
            for rel in [&s.deploy, &s.verify, &s.revert] {
                if !is_safe_relative(rel) {
                    return Err(bad(format!(
                        "step {}: {rel:?} must be a relative path inside the plan directory.",
                        s.name
                    )));
                }
                let text = read(rel)?;
                files.push((rel.clone(), sha256_hex(text.as_bytes())));
                texts.push(text);
            }
            let mut texts = texts.into_iter();
            let (Some(deploy), Some(verify), Some(revert)) =
                (texts.next(), texts.next(), texts.next())
            else {
                return Err(Error::new(
                    ErrorKind::PlanBuild,
                    "three files were read but not found",
                ));
            };
            steps.push(Step {
                name: s.name,
                deploy,
                verify,
                revert,
                files,
            });
        }
        let archive_sql = read("archive.sql")?;
        let files = vec![
            ("plan.yaml".to_string(), sha256_hex(plan_text.as_bytes())),
            (
                "archive.sql".to_string(),
                sha256_hex(archive_sql.as_bytes()),
            ),
        ];
        Ok(Plan {
            migration: parsed.migration.unwrap_or_else(|| "p0".to_string()),
            schema: parsed.schema,
            steps,
            archive_sql,
            files,
            source,
            verify_convention: VerifyConvention::RaisesP0001,
            format: PlanFormat::HarnessYaml,
        })
    }

    /// The layout the plan was read from.
    pub fn format(&self) -> PlanFormat {
        self.format
    }

    /// One SHA-256 binding the exact plan: over the lines `<sha256>  <relative path>\n` of
    /// every file of the plan ([`Plan::file_hashes`]), sorted by path (`sha256sum` format; the
    /// same text the closure report's plan digest hashes).
    pub fn digest(&self) -> String {
        let files: BTreeMap<String, String> = self.file_hashes().into_iter().collect();
        let mut text = String::new();
        for (p, d) in &files {
            text.push_str(&format!("{d}  {p}\n"));
        }
        sha256_hex(text.as_bytes())
    }

    /// Every file of the plan with its sha256: plan.yaml and archive.sql (or sqitch.plan and
    /// sqitch.conf), then each step's deploy, verify and revert, in plan order.
    pub fn file_hashes(&self) -> Vec<(String, String)> {
        let mut v = self.files.clone();
        for s in &self.steps {
            v.extend(s.files.iter().cloned());
        }
        v
    }

    /// Step names in plan order.
    pub fn step_names(&self) -> Vec<String> {
        self.steps.iter().map(|s| s.name.clone()).collect()
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn is_safe_relative(rel: &str) -> bool {
    let p = Path::new(rel);
    !rel.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)))
}

/// Every `schema.name` the plan's deploy and revert scripts name outside its own schema, in
/// order of first appearance (comments and string literals are skipped by the tokenizer).
pub fn named_relations(plan: &Plan) -> Vec<(String, String)> {
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let mut out: Vec<(String, String)> = Vec::new();
    for s in &plan.steps {
        for text in [&s.deploy, &s.revert] {
            let Ok(tokens) = sqlparser::tokenizer::Tokenizer::new(&dialect, text).tokenize() else {
                continue;
            };
            let words: Vec<&sqlparser::tokenizer::Token> = tokens
                .iter()
                .filter(|t| !matches!(t, sqlparser::tokenizer::Token::Whitespace(_)))
                .collect();
            for w in words.windows(3) {
                if let (
                    sqlparser::tokenizer::Token::Word(a),
                    sqlparser::tokenizer::Token::Period,
                    sqlparser::tokenizer::Token::Word(b),
                ) = (w[0], w[1], w[2])
                {
                    let fold = |x: &sqlparser::tokenizer::Word| match x.quote_style {
                        Some(_) => x.value.clone(),
                        None => x.value.to_lowercase(),
                    };
                    let pair = (fold(a), fold(b));
                    if pair.0 != plan.schema && !out.contains(&pair) {
                        out.push(pair);
                    }
                }
            }
        }
    }
    out
}
