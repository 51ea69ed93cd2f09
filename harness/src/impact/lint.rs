//! Lint before running: squawk's migration rules over every deploy and revert script of the
//! plan, each finding with its file:line, judged against the rule set (enforced, waived, info).

use serde::{Deserialize, Serialize};
use squawk_linter::{Linter, Rule};
use squawk_syntax::{SourceFile, SyntaxKind, SyntaxNode};

use super::rules::ImpactRules;
use crate::migrate::Plan;

/// What a finding means for the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Judgement {
    /// An enforced rule: a breach.
    Breach,
    /// An enforced rule, accepted by a waiver (its reason is kept).
    Waived,
    /// A rule the set does not enforce: reported only.
    Info,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The plan file, relative to the plan folder (`deploy/04_cut_unit.sql`).
    pub file: String,
    pub line: usize,
    pub rule: String,
    pub message: String,
    pub judgement: Judgement,
    /// The waiver's reason, when waived.
    pub reason: Option<String>,
}

impl Finding {
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// The plan's scripts as `(file, text)`, deploy and revert of each step (verify scripts only
/// read and are not linted). Files are named as the plan lists them.
pub fn scripts(plan: &Plan) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in &plan.steps {
        let file = |kind: &str| {
            s.files
                .iter()
                .map(|(f, _)| f.clone())
                .find(|f| f.starts_with(&format!("{kind}/")))
                .unwrap_or_else(|| format!("{kind}/{}.sql", s.name))
        };
        out.push((file("deploy"), s.deploy.clone()));
        out.push((file("revert"), s.revert.clone()));
    }
    out
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Lint one script with squawk's default rules and the enforced ones (PostgreSQL 16, run inside a transaction as the
/// runner does) and judge each finding.
pub fn lint_script(file: &str, text: &str, own: &[String], rules: &ImpactRules) -> Vec<Finding> {
    let parse = SourceFile::parse(text);
    let mut linter = linter_for(rules);
    linter.settings.pg_version = "16.2".parse().unwrap_or_default();
    linter.settings.assume_in_transaction = true;
    let judged = |rule: String, offset: usize, message: String| {
        let enforced = rules.lint.enforce.iter().any(|r| r == &rule);
        let waiver = rules.waiver(&rule, file);
        Finding {
            file: file.to_string(),
            line: line_of(text, offset),
            message,
            judgement: match (enforced, waiver) {
                (false, _) => Judgement::Info,
                (true, Some(_)) => Judgement::Waived,
                (true, None) => Judgement::Breach,
            },
            reason: waiver.map(|w| w.reason.clone()),
            rule,
        }
    };
    let mut out: Vec<Finding> = linter
        .lint(&parse, text)
        .into_iter()
        .map(|v| {
            judged(
                v.code.to_string(),
                usize::from(v.text_range.start()),
                v.message.clone(),
            )
        })
        .collect();
    for (offset, message) in outside_own_schemas(&parse.tree(), own) {
        out.push(judged(OUTSIDE_OWN_SCHEMAS.to_string(), offset, message));
    }
    out.sort_by(|a, b| (a.line, &a.rule).cmp(&(b.line, &b.rule)));
    out
}

pub use super::rules::OUTSIDE_OWN_SCHEMAS;

/// Statement kinds that change nothing by themselves (reads, session settings, transaction
/// control). `DO` and `CALL` run code the parser cannot see into: the profile's lock rule,
/// measured by running them, judges what they do.
const READ_OR_SESSION: &[SyntaxKind] = &[
    SyntaxKind::SELECT,
    SyntaxKind::COMPOUND_SELECT,
    SyntaxKind::PAREN_SELECT,
    SyntaxKind::VALUES,
    SyntaxKind::SET,
    SyntaxKind::RESET,
    SyntaxKind::SHOW,
    SyntaxKind::BEGIN,
    SyntaxKind::COMMIT_TRANSACTION,
    SyntaxKind::ROLLBACK_TRANSACTION,
    SyntaxKind::ROLLBACK_TO_SAVEPOINT,
    SyntaxKind::SAVEPOINT,
    SyntaxKind::RELEASE_SAVEPOINT,
    SyntaxKind::EXPLAIN,
    SyntaxKind::DO,
    SyntaxKind::CALL,
    SyntaxKind::NOTIFY,
    SyntaxKind::LISTEN,
    SyntaxKind::UNLISTEN,
    SyntaxKind::DISCARD,
];

/// Objects of the database or the cluster, outside every schema.
const OUTSIDE_EVERY_SCHEMA: &[SyntaxKind] = &[
    SyntaxKind::CREATE_ROLE,
    SyntaxKind::ALTER_ROLE,
    SyntaxKind::DROP_ROLE,
    SyntaxKind::CREATE_USER,
    SyntaxKind::ALTER_USER,
    SyntaxKind::DROP_USER,
    SyntaxKind::CREATE_DATABASE,
    SyntaxKind::ALTER_DATABASE,
    SyntaxKind::DROP_DATABASE,
    SyntaxKind::ALTER_SYSTEM,
    SyntaxKind::CREATE_TABLESPACE,
    SyntaxKind::ALTER_TABLESPACE,
    SyntaxKind::DROP_TABLESPACE,
    SyntaxKind::CREATE_EXTENSION,
    SyntaxKind::ALTER_EXTENSION,
    SyntaxKind::DROP_EXTENSION,
    SyntaxKind::ALTER_DEFAULT_PRIVILEGES,
    SyntaxKind::CREATE_PUBLICATION,
    SyntaxKind::CREATE_SUBSCRIPTION,
    SyntaxKind::CREATE_EVENT_TRIGGER,
];

/// An identifier as PostgreSQL folds it: quoted kept, unquoted lower-cased.
fn ident(text: &str) -> String {
    let t = text.trim();
    match t.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
        Some(q) => q.replace("\"\"", "\""),
        None => t.to_lowercase(),
    }
}

/// The schema of a `PATH` / `PATH_REF` node: its qualifier's last segment, if any.
fn qualifier(path: &SyntaxNode) -> Option<String> {
    let q = path.children().find(|c| c.kind() == SyntaxKind::PATH_REF)?;
    let last = q
        .children()
        .filter(|c| c.kind() != SyntaxKind::PATH_REF)
        .last()
        .map(|c| c.text().to_string())
        .unwrap_or_else(|| q.text().to_string());
    Some(ident(&last))
}

fn first_path(node: &SyntaxNode) -> Option<SyntaxNode> {
    node.descendants()
        .find(|n| matches!(n.kind(), SyntaxKind::PATH | SyntaxKind::PATH_REF))
}

/// The objects a statement acts on (not the ones it only reads), as their name nodes.
fn targets(stmt: &SyntaxNode) -> Vec<SyntaxNode> {
    use squawk_syntax::ast::{self, AstNode};
    let path_of = |n: Option<SyntaxNode>| n.and_then(|n| first_path(&n));
    let one = |n: Option<SyntaxNode>| path_of(n).into_iter().collect::<Vec<_>>();
    match stmt.kind() {
        SyntaxKind::INSERT => one(ast::Insert::cast(stmt.clone())
            .and_then(|i| i.relation_name_ref())
            .map(|r| r.syntax().clone())),
        SyntaxKind::UPDATE => one(ast::Update::cast(stmt.clone())
            .and_then(|u| u.relation_name())
            .map(|r| r.syntax().clone())),
        SyntaxKind::DELETE => one(ast::Delete::cast(stmt.clone())
            .and_then(|d| d.relation_name())
            .map(|r| r.syntax().clone())),
        SyntaxKind::CREATE_INDEX => one(ast::CreateIndex::cast(stmt.clone())
            .and_then(|c| c.table_relation_name())
            .map(|r| r.syntax().clone())),
        SyntaxKind::CREATE_TRIGGER => one(ast::CreateTrigger::cast(stmt.clone())
            .and_then(|c| c.on_relation())
            .map(|r| r.syntax().clone())),
        SyntaxKind::TRUNCATE
        | SyntaxKind::DROP_TABLE
        | SyntaxKind::DROP_INDEX
        | SyntaxKind::DROP_VIEW
        | SyntaxKind::DROP_SEQUENCE
        | SyntaxKind::LOCK => {
            // Every name listed: outermost paths only (a qualified path holds its qualifier).
            stmt.descendants()
                .filter(|n| matches!(n.kind(), SyntaxKind::PATH | SyntaxKind::PATH_REF))
                .filter(|n| {
                    n.parent().is_none_or(|p| {
                        !matches!(p.kind(), SyntaxKind::PATH | SyntaxKind::PATH_REF)
                    })
                })
                .collect()
        }
        // `COMMENT ON COLUMN schema.table.column`: the object is the table.
        SyntaxKind::COMMENT_ON
            if stmt
                .descendants()
                .any(|n| n.kind() == SyntaxKind::OBJECT_COLUMN) =>
        {
            first_path(stmt)
                .and_then(|p| p.children().find(|c| c.kind() == SyntaxKind::PATH_REF))
                .into_iter()
                .collect()
        }
        _ => first_path(stmt).into_iter().collect(),
    }
}

/// The schema a schema-level statement names (`CREATE/ALTER/DROP SCHEMA`, `COMMENT ON SCHEMA`,
/// `GRANT … ON SCHEMA`): the identifier after the first `SCHEMA` keyword.
fn schema_named(stmt: &SyntaxNode) -> Option<(String, usize)> {
    let mut seen = false;
    for t in stmt
        .descendants_with_tokens()
        .filter_map(|e| e.into_token())
    {
        if t.kind() == SyntaxKind::SCHEMA_KW {
            seen = true;
        } else if seen && t.kind() == SyntaxKind::IDENT {
            return Some((ident(t.text()), usize::from(t.text_range().start())));
        } else if seen
            && !t.kind().is_trivia()
            && !matches!(
                t.kind(),
                SyntaxKind::IF_KW | SyntaxKind::NOT_KW | SyntaxKind::EXISTS_KW
            )
        {
            return None;
        }
    }
    None
}

/// Each statement of `file` that acts on something outside `own`: `(offset, message)`.
fn outside_own_schemas(file: &SourceFile, own: &[String]) -> Vec<(usize, String)> {
    use squawk_syntax::ast::AstNode;
    let owns = own.join(", ");
    let mut out = Vec::new();
    for stmt in file.stmts() {
        let node = stmt.syntax();
        let kind = node.kind();
        if READ_OR_SESSION.contains(&kind) {
            continue;
        }
        let what = format!("{kind:?}").replace('_', " ");
        let at = usize::from(node.text_range().start());
        if OUTSIDE_EVERY_SCHEMA.contains(&kind) {
            out.push((at, format!("{what} acts on the database or the cluster, outside the plan's own schemas ({owns})")));
            continue;
        }
        if let Some((schema, at)) = schema_named(node) {
            if !own.contains(&schema) {
                out.push((
                    at,
                    format!(
                        "{what} acts on schema {schema}, outside the plan's own schemas ({owns})"
                    ),
                ));
            }
            continue;
        }
        for t in targets(node) {
            let name = t.text().to_string();
            let at = usize::from(t.text_range().start());
            match qualifier(&t) {
                Some(s) if own.contains(&s) => {}
                Some(s) => out.push((at, format!("{what} acts on {name}: schema {s} is outside the plan's own schemas ({owns})"))),
                None => out.push((at, format!("{what} acts on {name}: unqualified, so it resolves through search_path (public by default), outside the plan's own schemas ({owns}); qualify it with the plan's schema"))),
            }
        }
    }
    out
}

/// Squawk's default rules plus every enforced one (some are opt-in, e.g. the timeout rules).
fn linter_for(rules: &ImpactRules) -> Linter {
    let enforced: Vec<Rule> = rules
        .lint
        .enforce
        .iter()
        .filter_map(|r| r.parse().ok())
        .collect();
    Linter::with_rules(&enforced, &[])
}

/// Lint every deploy and revert script of `plan`.
/// The plan's own schemas are the one it declares (`schema:`, or the one a Sqitch project
/// creates).
pub fn lint_plan(plan: &Plan, rules: &ImpactRules) -> Vec<Finding> {
    let own = [plan.schema.clone()];
    scripts(plan)
        .iter()
        .flat_map(|(f, t)| lint_script(f, t, &own, rules))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> ImpactRules {
        ImpactRules::load(None).expect("bundled")
    }

    fn own() -> Vec<String> {
        vec!["cutter_governance".to_string()]
    }

    fn outside(sql: &str) -> Vec<(usize, String)> {
        lint_script("deploy/x.sql", sql, &own(), &rules())
            .into_iter()
            .filter(|f| f.rule == OUTSIDE_OWN_SCHEMAS)
            .map(|f| (f.line, f.message))
            .collect()
    }

    #[test]
    fn statements_acting_outside_the_plans_schemas_are_named_and_reads_are_not() {
        let own_only = "CREATE SCHEMA cutter_governance;\n\
            CREATE TABLE cutter_governance.t (id int PRIMARY KEY);\n\
            CREATE INDEX t_i ON cutter_governance.t (id);\n\
            INSERT INTO cutter_governance.t SELECT d.id FROM public.dot_tools AS d;\n\
            UPDATE cutter_governance.t SET id = id WHERE id IN (SELECT id FROM public.dot_tools);\n\
            COMMENT ON SCHEMA cutter_governance IS 'x';\n\
            COMMENT ON TABLE cutter_governance.t IS 'x';\n\
            COMMENT ON COLUMN cutter_governance.t.id IS 'x';\n\
            CREATE VIEW cutter_governance.v AS SELECT * FROM public.dot_tools;\n\
            SELECT count(*) FROM public.dot_tools;\n\
            DO $$ BEGIN PERFORM 1; END $$;\n\
            DROP TABLE IF EXISTS cutter_governance.t;\n\
            DROP SCHEMA IF EXISTS cutter_governance CASCADE;\n";
        assert_eq!(outside(own_only), vec![]);
        let cases: &[(&str, &str)] = &[
            ("CREATE INDEX i ON public.tac_logical_unit (code);", "public.tac_logical_unit"),
            ("ALTER TABLE public.dot_tools ADD COLUMN x int;", "public.dot_tools"),
            ("UPDATE public.dot_tools SET code = code;", "public.dot_tools"),
            ("INSERT INTO public.dot_tools (id) VALUES (1);", "public.dot_tools"),
            ("DELETE FROM public.dot_tools;", "public.dot_tools"),
            ("TRUNCATE cutter_governance.t, public.dot_tools;", "public.dot_tools"),
            ("DROP TABLE public.directus_users;", "public.directus_users"),
            ("COMMENT ON TABLE public.dot_tools IS 'x';", "public.dot_tools"),
            ("COMMENT ON COLUMN public.dot_tools.code IS 'x';", "schema public"),
            ("CREATE TRIGGER tr AFTER INSERT ON public.dot_tools FOR EACH ROW EXECUTE FUNCTION cutter_governance.f();", "public.dot_tools"),
            ("CREATE TABLE t (id int);", "unqualified"),
            ("GRANT USAGE ON SCHEMA public TO PUBLIC;", "schema public"),
            ("ALTER DATABASE directus SET work_mem = '64MB';", "the database or the cluster"),
            ("CREATE ROLE cutter;", "the database or the cluster"),
            ("LOCK TABLE public.dot_tools IN ACCESS EXCLUSIVE MODE;", "public.dot_tools"),
        ];
        for (sql, names) in cases {
            let f = outside(&format!("SELECT 1;\n{sql}\n"));
            assert!(
                f.len() == 1 && f[0].0 == 2 && f[0].1.contains(names),
                "{sql}: {f:#?}"
            );
        }
    }

    #[test]
    fn lock_heavy_statements_are_named_with_file_and_line() {
        let sql = "SELECT 1;\nCREATE INDEX t_a_idx ON public.tac_logical_unit (code);\n\
                   ALTER TABLE public.t ADD CONSTRAINT t_fk FOREIGN KEY (a) REFERENCES public.u (id);\n\
                   ALTER TABLE public.t ALTER COLUMN b TYPE bigint;\n";
        let f = lint_script("deploy/x.sql", sql, &own(), &rules());
        let has = |rule: &str, line: usize| {
            f.iter()
                .any(|x| x.rule == rule && x.line == line && x.judgement == Judgement::Breach)
        };
        assert!(has("require-concurrent-index-creation", 2), "{f:#?}");
        assert!(has("adding-foreign-key-constraint", 3), "{f:#?}");
        assert!(has("changing-column-type", 4), "{f:#?}");
        assert_eq!(f[0].location().split(':').next(), Some("deploy/x.sql"));
    }

    #[test]
    fn a_waiver_accepts_a_finding_with_its_reason_and_unenforced_rules_are_info() {
        let mut r = rules();
        r.lint.waive.push(super::super::rules::Waiver {
            rule: "changing-column-type".into(),
            file: "deploy/x.sql".into(),
            reason: "empty table".into(),
        });
        r.lint
            .enforce
            .retain(|x| x != "require-concurrent-index-creation");
        let sql =
            "CREATE INDEX i ON public.t (a);\nALTER TABLE public.t ALTER COLUMN b TYPE bigint;\n";
        let f = lint_script("deploy/x.sql", sql, &own(), &r);
        let j = |rule: &str| f.iter().find(|x| x.rule == rule).map(|x| x.judgement);
        assert_eq!(j("changing-column-type"), Some(Judgement::Waived));
        assert_eq!(
            j("require-concurrent-index-creation"),
            Some(Judgement::Info)
        );
        assert!(f.iter().any(|x| x.reason.as_deref() == Some("empty table")));
    }
}

#[cfg(test)]
mod p0 {
    use super::*;

    /// The stand-in P0 breaks no enforced rule of the bundled set (its findings are info).
    #[test]
    fn the_stand_in_p0_passes_the_p0_lint_rules() {
        let plan = Plan::embedded().expect("embedded plan");
        let rules = ImpactRules::load(None).expect("bundled");
        let f = lint_plan(&plan, &rules);
        let breaches: Vec<String> = f
            .iter()
            .filter(|x| x.judgement == Judgement::Breach)
            .map(|x| format!("{} {}: {}", x.location(), x.rule, x.message))
            .collect();
        assert!(breaches.is_empty(), "{breaches:#?}");
        // It is linted at all: its reverts drop its own tables (reported, not enforced).
        assert!(f
            .iter()
            .any(|x| x.rule == "ban-drop-table" && x.file.starts_with("revert/")));
    }
}
