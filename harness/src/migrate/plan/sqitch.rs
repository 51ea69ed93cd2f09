//! Sqitch projects as P0 plans: `sqitch.plan` (pragmas, changes, tags, dependencies, reworked
//! changes), `sqitch.conf`, and the psql conventions of their scripts, checked and stripped for the runner.
//!
//! The grammar follows Sqitch's own parser (`App::Sqitch::Plan::_parse`, `Plan::Depend::parse`,
//! `Plan::Change::_path_segments`; docs `sqitch-plan`, `sqitchchanges`):
//!
//! * a header of pragmas (`%name=value`, `#` comments) ended by the first empty line;
//!   `%project` is required;
//! * change lines `[+]name [deps] YYYY-MM-DDTHH:MM:SSZ Planner Name <email> # note`, tag lines
//!   `@tag YYYY-MM-DDTHH:MM:SSZ Planner Name <email> # note` (a tag marks the change before it),
//!   blank lines and `#` comments; timestamp and planner are required, as in Sqitch;
//! * a change name appearing again after a tag is a *reworked* change: the earlier instance's
//!   scripts are `deploy/name@TAG.sql` (and verify/, revert/), where TAG is the first of its
//!   rework tags whose deploy file exists (Sqitch's order: the tags between the instance and its
//!   rework, latest first, then the instance's own tags; `sqitch rework` writes the latest);
//!   the last instance uses `deploy/name.sql`.
//!
//! Stricter than Sqitch, because the harness deploys the plan in order on its own: every
//! dependency must name an earlier change (`change`, `change@tag`, `@tag` of this project); a
//! conflict (`!change`) must not name a change deployed earlier; cross-project dependencies,
//! SHA-1 ids and `-change` (revert) lines are refused.
//!
//! Scripts are split into statements by `sqlparser`'s PostgreSQL tokenizer (quotes, `$tag$`
//! dollar quoting, `--` and nested `/* */` comments) with psql's rule for `BEGIN ATOMIC` bodies.
//! The script's own outer `BEGIN;` and final `COMMIT;` (`ROLLBACK;` in a verify) are blanked
//! out (newlines kept, so the server's line numbers still match the file); a session `SET`
//! becomes `SET LOCAL` (under Sqitch a setting lasts for the script's psql session; in the
//! runner, for the step's transaction). Refused before anything runs: psql meta-commands,
//! `COPY ... FROM STDIN / TO STDOUT`, transaction control elsewhere, and statements PostgreSQL
//! refuses inside a transaction block.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use super::Step;
use crate::error::{Error, Result};
use crate::fingerprint::sha256_hex;

// ---------------------------------------------------------------------------------------------
// sqitch.plan

/// A parsed `sqitch.plan`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqitchPlan {
    /// `%project`.
    pub project: String,
    /// `%uri`, when given.
    pub uri: Option<String>,
    /// `%syntax-version`, when given.
    pub syntax_version: Option<String>,
    /// Changes in plan order (a reworked change appears once per instance).
    pub changes: Vec<Change>,
    /// Tags in plan order.
    pub tags: Vec<Tag>,
}

/// One change line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub name: String,
    /// 1-based line in sqitch.plan.
    pub line: usize,
    pub requires: Vec<Dependency>,
    pub conflicts: Vec<Dependency>,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub timestamp: String,
    pub planner_name: String,
    pub planner_email: String,
    pub note: Option<String>,
    /// Tags declared right after this change (before the next change).
    pub tags: Vec<String>,
    /// For an instance that is reworked later: the tags between it and its next instance
    /// (latest first), then its own tags: Sqitch's candidates for the `name@TAG` file names.
    /// Empty for the last instance of a name.
    pub rework_tags: Vec<String>,
}

/// One tag line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub name: String,
    pub line: usize,
    /// Index in [`SqitchPlan::changes`] of the change it marks.
    pub change: usize,
    pub note: Option<String>,
}

/// One entry of a change's `[...]` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// `!x`: a conflict.
    pub conflicts: bool,
    /// `project:` prefix.
    pub project: Option<String>,
    pub change: Option<String>,
    pub tag: Option<String>,
    /// A 40-hex change id.
    pub id: Option<String>,
    /// As written.
    pub text: String,
}

/// Sqitch's punctuation (`[:punct:]` without `_`).
const PUNCT: &str = "-!\"#$%&'()*+,./:;<=>?@[\\]^`{|}~";

fn is_punct(c: char) -> bool {
    PUNCT.contains(c)
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Sqitch's name rule (`sqitchchanges`, "Change Names"): no blanks, not `:@#\`, no `[]`, first
/// and last character not punctuation, no `~ / = % ^ [ ]` followed by digits at the end.
fn valid_name(s: &str) -> bool {
    let (Some(first), Some(last)) = (s.chars().next(), s.chars().last()) else {
        return false;
    };
    if is_punct(first) || is_punct(last) {
        return false;
    }
    if s.chars()
        .any(|c| c.is_whitespace() || matches!(c, ':' | '@' | '#' | '\\' | '[' | ']'))
    {
        return false;
    }
    let trimmed = s.trim_end_matches(|c: char| c.is_ascii_digit());
    if trimmed.len() < s.len() && trimmed.ends_with(['~', '/', '=', '%', '^', '[', ']']) {
        return false;
    }
    true
}

fn looks_like_sha1(s: &str) -> bool {
    s.len() >= 40
        && s[..40]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// Split off an inline note: everything from the first `#` (Sqitch strips
/// `[[:blank:]]*(?:#[[:blank:]]*(.*))?$`).
fn split_note(line: &str) -> (&str, Option<String>) {
    match line.find('#') {
        Some(i) => {
            let note = line[i + 1..].trim().to_string();
            (
                line[..i].trim_end_matches(is_blank),
                (!note.is_empty()).then_some(note),
            )
        }
        None => (line.trim_end_matches(is_blank), None),
    }
}

fn parse_dependency(s: &str) -> Option<Dependency> {
    let (conflicts, rest) = match s.strip_prefix('!') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (project, rest) = match rest.split_once(':') {
        Some((p, r)) if valid_name(p) => (Some(p.to_string()), r),
        Some(_) => return None,
        None => (None, rest),
    };
    let mut d = Dependency {
        conflicts,
        project,
        change: None,
        tag: None,
        id: None,
        text: s.to_string(),
    };
    if rest.len() == 40 && looks_like_sha1(rest) {
        d.id = Some(rest.to_string());
        return Some(d);
    }
    match rest.split_once('@') {
        Some(("", t)) if valid_name(t) => d.tag = Some(t.to_string()),
        Some((c, t)) if valid_name(c) && valid_name(t) => {
            d.change = Some(c.to_string());
            d.tag = Some(t.to_string());
        }
        None if valid_name(rest) => d.change = Some(rest.to_string()),
        _ => return None,
    }
    Some(d)
}

/// Parse `sqitch.plan` text; `file` names it in messages (`file:line: ...`).
pub fn parse_plan(text: &str, file: &str) -> Result<SqitchPlan> {
    let syntax = |line: usize, msg: String| {
        Error::bad_input("malformed_plan", format!("{file}:{line}: {msg}")).with_hint(
            "Fix the line as `sqitch plan` writes it (see `sqitch help plan`); the harness reads sqitch.plan with Sqitch's own grammar.",
        )
    };
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let lines = match lines.last() {
        Some(&"") => &lines[..lines.len() - 1],
        _ => &lines[..],
    };
    let mut plan = SqitchPlan {
        project: String::new(),
        uri: None,
        syntax_version: None,
        changes: Vec::new(),
        tags: Vec::new(),
    };
    let mut n = 0;
    // Header: pragmas and comments up to the first empty line.
    while n < lines.len() {
        let line = lines[n];
        n += 1;
        let t = line.trim_start_matches(is_blank);
        if t.is_empty() {
            break;
        }
        if t.starts_with('#') {
            continue;
        }
        let (body, _) = split_note(t);
        let Some(p) = body.strip_prefix('%') else {
            return Err(syntax(
                n,
                "Invalid pragma; a blank line must come between pragmas and changes".into(),
            ));
        };
        let (name, value) = match p.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim().to_string())),
            None => (p.trim(), None),
        };
        if name.is_empty() || is_punct(name.chars().next().unwrap_or('-')) {
            return Err(syntax(n, format!("invalid pragma {line:?}")));
        }
        match name {
            "syntax-version" => plan.syntax_version = value,
            "project" => {
                let v = value.unwrap_or_default();
                if !valid_name(&v) {
                    return Err(syntax(n, format!("invalid project name {v:?}: project names must not begin with punctuation, contain \"@\", \":\", \"#\", \"\\\", \"[\", \"]\", or blanks, or end in punctuation or digits following punctuation")));
                }
                plan.project = v;
            }
            "uri" => plan.uri = value,
            _ => {}
        }
    }
    if plan.project.is_empty() {
        return Err(Error::bad_input(
            "malformed_plan",
            format!("{file}: Missing %project pragma."),
        )
        .with_hint("Start sqitch.plan with `%syntax-version=1.0.0` and `%project=<name>`, then an empty line."));
    }

    // Changes and tags.
    let mut change_line: HashMap<String, usize> = HashMap::new(); // name -> line, since the last tag
    let mut tag_line: HashMap<String, usize> = HashMap::new();
    let mut last_instance: HashMap<String, usize> = HashMap::new(); // name -> index
    while n < lines.len() {
        let raw = lines[n];
        n += 1;
        let t = raw.trim_start_matches(is_blank);
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let (body, note) = split_note(t);
        let is_tag = body.starts_with('@');
        let mut rest = if is_tag { &body[1..] } else { body };
        if !is_tag {
            if let Some(r) = rest.strip_prefix('-') {
                return Err(syntax(n, format!("`-{}`: a revert line in the plan (the `-` operator) is not supported; the harness deploys every change in order. Remove the line or the change.", r.trim_start_matches(is_blank))));
            }
            if let Some(r) = rest.strip_prefix('+') {
                rest = r.trim_start_matches(is_blank);
            }
        }
        let end = rest
            .find(|c: char| is_blank(c) || c == '[')
            .unwrap_or(rest.len());
        let name = &rest[..end];
        let mut rest = rest[end..].trim_start_matches(is_blank);
        let invalid_name = || {
            syntax(n, "Invalid name; names must not begin with punctuation, contain \"@\", \":\", \"#\", \"\\\", \"[\", \"]\", or blanks, or end in punctuation or digits following punctuation".into())
        };
        if !valid_name(name) {
            return Err(invalid_name());
        }
        let mut deps_text = None;
        if let Some(r) = rest.strip_prefix('[') {
            let Some(close) = r.find(']') else {
                return Err(syntax(n, "unterminated dependency list `[`".into()));
            };
            deps_text = Some(&r[..close]);
            rest = r[close + 1..].trim_start_matches(is_blank);
        }
        let (timestamp, rest) = match rest.split_once(is_blank) {
            Some((ts, r)) if is_timestamp(ts) => (Some(ts), r.trim_start_matches(is_blank)),
            None if is_timestamp(rest) => (Some(rest), ""),
            _ => (None, rest),
        };
        let planner = rest
            .strip_suffix('>')
            .and_then(|r| r.rsplit_once('<'))
            .map(|(nm, mail)| (nm.trim_end_matches(is_blank), mail))
            .filter(|(nm, mail)| {
                !nm.is_empty() && !nm.contains('<') && !mail.is_empty() && !mail.contains('>')
            });
        match (timestamp, planner) {
            (None, None) if rest.is_empty() => {
                return Err(syntax(
                    n,
                    "Missing timestamp and planner name and email".into(),
                ))
            }
            (None, _) => return Err(syntax(n, "Missing timestamp".into())),
            (Some(_), None) if rest.is_empty() => {
                return Err(syntax(n, "Missing planner name and email".into()))
            }
            (Some(_), None) => {
                return Err(syntax(
                    n,
                    format!("cannot read {rest:?} as the planner `Name <email>`"),
                ))
            }
            _ => {}
        }
        let (Some(timestamp), Some((pname, pmail))) = (timestamp, planner) else {
            return Err(syntax(n, "Missing planner name and email".into()));
        };
        if name == "ROOT" || name == "HEAD" {
            let shown = if is_tag {
                format!("@{name}")
            } else {
                name.to_string()
            };
            return Err(syntax(n, format!("\"{shown}\" is a reserved name")));
        }
        if looks_like_sha1(name) {
            return Err(syntax(
                n,
                format!("\"{name}\" is invalid because it could be confused with a SHA1 ID"),
            ));
        }
        if is_tag {
            if name.contains('/') {
                return Err(syntax(
                    n,
                    format!("Tag \"{name}\" contains illegal character /"),
                ));
            }
            if plan.changes.is_empty() {
                return Err(syntax(
                    n,
                    format!("Tag \"{name}\" declared without a preceding change"),
                ));
            }
            if let Some(at) = tag_line.get(name) {
                return Err(syntax(
                    n,
                    format!("Tag \"{name}\" duplicates earlier declaration on line {at}"),
                ));
            }
            if deps_text.is_some() {
                return Err(syntax(n, "Tags may not specify dependencies".into()));
            }
            let change = plan.changes.len() - 1;
            plan.changes[change].tags.push(name.to_string());
            plan.tags.push(Tag {
                name: name.to_string(),
                line: n,
                change,
                note,
            });
            tag_line.insert(name.to_string(), n);
            change_line.clear();
            continue;
        }
        if let Some(at) = change_line.get(name) {
            return Err(syntax(
                n,
                format!("Change \"{name}\" duplicates earlier declaration on line {at}"),
            ));
        }
        let mut requires = Vec::new();
        let mut conflicts = Vec::new();
        let mut seen = BTreeSet::new();
        for d in deps_text
            .unwrap_or("")
            .split(is_blank)
            .filter(|s| !s.is_empty())
        {
            let Some(dep) = parse_dependency(d) else {
                return Err(syntax(
                    n,
                    format!("\"{d}\" is not a valid dependency specification"),
                ));
            };
            if !seen.insert(d.to_string()) {
                return Err(syntax(n, format!("Duplicate dependency \"{d}\"")));
            }
            if dep.conflicts {
                conflicts.push(dep);
            } else {
                requires.push(dep);
            }
        }
        // A reworked change: the earlier instance gets its rework tags, latest first.
        if let Some(&prev) = last_instance.get(name) {
            let mut tags = Vec::new();
            for c in plan.changes[prev + 1..].iter().rev() {
                tags.extend(c.tags.iter().cloned());
            }
            tags.extend(plan.changes[prev].tags.iter().cloned());
            plan.changes[prev].rework_tags = tags;
        }
        last_instance.insert(name.to_string(), plan.changes.len());
        change_line.insert(name.to_string(), n);
        plan.changes.push(Change {
            name: name.to_string(),
            line: n,
            requires,
            conflicts,
            timestamp: timestamp.to_string(),
            planner_name: pname.to_string(),
            planner_email: pmail.to_string(),
            note,
            tags: Vec::new(),
            rework_tags: Vec::new(),
        });
    }
    if plan.changes.is_empty() {
        return Err(Error::bad_input(
            "malformed_plan",
            format!("{file}: the plan has no changes."),
        )
        .with_hint(
            "Add the changes after the pragmas and an empty line, as `sqitch add` writes them.",
        ));
    }
    check_dependencies(&plan, file)?;
    Ok(plan)
}

/// Every dependency names something deployed earlier in this plan; no conflict names a change
/// deployed earlier; nothing of another project.
fn check_dependencies(plan: &SqitchPlan, file: &str) -> Result<()> {
    for (i, c) in plan.changes.iter().enumerate() {
        let at = |msg: String, kind: &'static str, hint: &str| {
            Error::bad_input(
                kind,
                format!("{file}:{}: change \"{}\" {msg}", c.line, c.name),
            )
            .with_hint(hint.to_string())
        };
        // What is deployed before change i, in plan order.
        let earlier = &plan.changes[..i];
        let tag_pos = |t: &str| plan.tags.iter().find(|x| x.name == t && x.change < i);
        for d in c.requires.iter().chain(&c.conflicts) {
            if let Some(p) = d.project.as_deref().filter(|p| *p != plan.project) {
                return Err(at(
                    format!("{} \"{}\" of another Sqitch project ({p}); the harness deploys one project on its own and cannot prove the other one is in place.", if d.conflicts { "declares a conflict with" } else { "requires" }, d.text),
                    "cross_project_dependency",
                    "Deploy the other project as part of the baseline (restore a dump that has it), remove the dependency, or bring both projects as one plan.",
                ));
            }
            if d.id.is_some() {
                return Err(at(
                    format!("names a change by its SHA-1 id ({}); the harness resolves dependencies by name only.", d.text),
                    "plan_dependency",
                    "Name the change (`change` or `change@tag`) instead of its id.",
                ));
            }
        }
        for d in &c.requires {
            let ok = match (d.change.as_deref(), d.tag.as_deref()) {
                (Some(ch), None) => earlier.iter().any(|e| e.name == ch),
                (Some(ch), Some(t)) => tag_pos(t)
                    .is_some_and(|tag| earlier[..=tag.change].iter().any(|e| e.name == ch)),
                (None, Some(t)) => tag_pos(t).is_some(),
                (None, None) => false,
            };
            if ok {
                continue;
            }
            let later = d
                .change
                .as_deref()
                .and_then(|ch| plan.changes[i..].iter().find(|e| e.name == ch));
            let msg = match (later, d.change.as_deref()) {
                (_, Some(ch)) if ch == c.name => format!(
                    "cannot require itself (\"{}\" names no earlier instance of it).",
                    d.text
                ),
                (Some(l), _) => format!(
                    "requires \"{}\", which the plan deploys later (line {}); a change may only require an earlier one.",
                    d.text, l.line
                ),
                _ => format!(
                    "requires \"{}\", which is not declared earlier in the plan.",
                    d.text
                ),
            };
            return Err(at(
                msg,
                "plan_dependency",
                "Move the change below what it requires, or fix the dependency's name (`change`, `change@tag` or `@tag`).",
            ));
        }
        for d in &c.conflicts {
            let hit = match (d.change.as_deref(), d.tag.as_deref()) {
                (Some(ch), _) => earlier.iter().find(|e| e.name == ch).map(|e| e.line),
                (None, Some(t)) => tag_pos(t).map(|t| t.line),
                _ => None,
            };
            if let Some(line) = hit {
                return Err(at(
                    format!("conflicts with \"{}\", which the plan deploys earlier (line {line}); deploying the plan in order would always hit the conflict.", d.text),
                    "plan_dependency",
                    "Revert or remove the conflicting change before this one, or drop the conflict.",
                ));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// sqitch.conf

/// Check `sqitch.conf` (git-config syntax): the engine must be `pg`, and the layout Sqitch's
/// default (top_dir `.`, deploy/ verify/ revert/, `.sql`, sqitch.plan), which is what the harness
/// reads.
pub fn check_conf(text: &str, file: &str) -> Result<()> {
    let mut section = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(h) = line.strip_prefix('[') {
            let h = h.trim_end_matches(']');
            section = match h.split_once(char::is_whitespace) {
                Some((s, sub)) => format!("{}.{}", s.to_lowercase(), sub.trim().trim_matches('"')),
                None => h.trim().to_lowercase(),
            };
            continue;
        }
        let (k, v) = line.split_once('=').unwrap_or((line, "true"));
        let key = k.trim().to_lowercase();
        let value = v.trim().trim_matches('"');
        let full = format!("{section}.{key}");
        let refuse = |what: String| {
            Error::bad_input("sqitch_conf", format!("{file}:{}: {what}", i + 1)).with_hint(
                "Bring the project in Sqitch's default layout (sqitch.plan, deploy/, verify/, revert/ with .sql scripts at the top of the folder given to --plan), engine pg.",
            )
        };
        if full == "core.engine" && value != "pg" {
            return Err(refuse(format!(
                "the project's engine is {value:?}; the harness runs PostgreSQL (engine pg) projects only."
            )));
        }
        let scoped =
            section == "core" || section.starts_with("engine.") || section.starts_with("target.");
        let layout = [
            "top_dir",
            "plan_file",
            "deploy_dir",
            "revert_dir",
            "verify_dir",
            "reworked_dir",
            "reworked_deploy_dir",
            "reworked_revert_dir",
            "reworked_verify_dir",
            "extension",
        ];
        if scoped && layout.contains(&key.as_str()) {
            let default = match key.as_str() {
                "top_dir" => ["."].as_slice(),
                "plan_file" => &["sqitch.plan", "./sqitch.plan"],
                "deploy_dir" | "reworked_deploy_dir" => &["deploy", "./deploy"],
                "revert_dir" | "reworked_revert_dir" => &["revert", "./revert"],
                "verify_dir" | "reworked_verify_dir" => &["verify", "./verify"],
                "reworked_dir" => &[".", "./"],
                _ => &["sql"],
            };
            if !default.contains(&value) {
                return Err(refuse(format!(
                    "{full} = {value:?} moves the project's files; the harness reads Sqitch's default layout only."
                )));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Scripts

/// Which script of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::Display)]
#[strum(serialize_all = "snake_case")]
pub enum ScriptKind {
    Deploy,
    Verify,
    Revert,
}

/// A script ready for the runner, and what the plan learns from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The text to run inside the runner's transaction.
    pub sql: String,
    /// Schemas the script creates (`CREATE SCHEMA`), lower-cased unless quoted.
    pub creates_schemas: Vec<String>,
}

/// One statement: token range and its words at parenthesis depth 0 (upper-cased; a quoted
/// identifier is kept in quotes so it never matches a keyword).
struct Stmt {
    /// Index of the first significant token.
    first: usize,
    /// Index of the terminating `;` (or `tokens.len()`).
    end: usize,
    words: Vec<String>,
    /// Every word of the statement (any depth), upper-cased.
    all_words: Vec<String>,
    line: u64,
}

fn significant(t: &Token) -> bool {
    !matches!(t, Token::Whitespace(_) | Token::EOF)
}

fn word_of(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_uppercase()),
        Token::Word(w) => Some(format!("\"{}\"", w.value)),
        _ => None,
    }
}

/// Split into statements the way psql does: at `;` outside parentheses and outside the
/// `BEGIN ... END` of a `CREATE [OR REPLACE] FUNCTION|PROCEDURE` (psqlscan.l's heuristic).
fn split(tokens: &[TokenWithSpan]) -> Vec<Stmt> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        // skip to the first significant token
        while i < tokens.len() && !significant(&tokens[i].token) {
            i += 1;
        }
        if i >= tokens.len() {
            break;
        }
        let first = i;
        let (mut paren, mut begin) = (0i64, 0i64);
        let mut idents: Vec<char> = Vec::new();
        let mut words = Vec::new();
        let mut all_words = Vec::new();
        while i < tokens.len() {
            let t = &tokens[i].token;
            match t {
                Token::SemiColon if paren == 0 && begin == 0 => break,
                Token::LParen => paren += 1,
                Token::RParen => paren = (paren - 1).max(0),
                Token::Word(w) if w.quote_style.is_none() => {
                    let up = w.value.to_uppercase();
                    let c = match up.as_str() {
                        "CREATE" | "FUNCTION" | "PROCEDURE" | "OR" | "REPLACE" => {
                            up.chars().next().unwrap_or(' ').to_ascii_lowercase()
                        }
                        _ => ' ',
                    };
                    idents.push(c);
                    let id = |k: usize| idents.get(k).copied().unwrap_or(' ');
                    let in_routine = id(0) == 'c'
                        && (id(1) == 'f'
                            || id(1) == 'p'
                            || (id(1) == 'o' && id(2) == 'r' && (id(3) == 'f' || id(3) == 'p')));
                    if in_routine && paren == 0 {
                        match up.as_str() {
                            "BEGIN" => begin += 1,
                            "CASE" if begin >= 1 => begin += 1,
                            "END" if begin > 0 => begin -= 1,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
            if let Some(w) = word_of(t) {
                if paren == 0 {
                    words.push(w.clone());
                }
                all_words.push(w);
            }
            i += 1;
        }
        out.push(Stmt {
            first,
            end: i,
            words,
            all_words,
            line: tokens[first].span.start.line,
        });
        i += 1;
    }
    out
}

/// Byte offset of a tokenizer location (1-based line, 1-based column in characters).
fn offset(text: &str, line_starts: &[usize], line: u64, column: u64) -> usize {
    let Some(&start) = line_starts.get((line as usize).saturating_sub(1)) else {
        return text.len();
    };
    text[start..]
        .char_indices()
        .nth((column as usize).saturating_sub(1))
        .map_or(text.len(), |(o, _)| start + o)
}

/// How a transaction-control statement reads, if it is one.
enum TxStmt {
    /// `BEGIN;`, `BEGIN WORK|TRANSACTION;`, `START TRANSACTION;`
    Begin,
    /// `COMMIT;` / `END;` (optionally WORK|TRANSACTION)
    Commit,
    /// `ROLLBACK;` / `ABORT;` (optionally WORK|TRANSACTION)
    Rollback,
    /// Anything else that starts, ends or prepares a transaction.
    Other,
}

fn tx_stmt(w: &[String]) -> Option<TxStmt> {
    let plain_tail = |rest: &[String]| {
        rest.is_empty() || (rest.len() == 1 && (rest[0] == "WORK" || rest[0] == "TRANSACTION"))
    };
    let head = w.first()?.as_str();
    Some(match head {
        "BEGIN" if plain_tail(&w[1..]) => TxStmt::Begin,
        "START" if w.get(1).map(String::as_str) == Some("TRANSACTION") && w.len() == 2 => {
            TxStmt::Begin
        }
        "BEGIN" => TxStmt::Other,
        "START" if w.get(1).map(String::as_str) == Some("TRANSACTION") => TxStmt::Other,
        "COMMIT" | "END" if plain_tail(&w[1..]) => TxStmt::Commit,
        "COMMIT" | "END" => TxStmt::Other,
        "ROLLBACK" | "ABORT" if plain_tail(&w[1..]) => TxStmt::Rollback,
        "ROLLBACK" if w.iter().any(|x| x == "TO") => return None, // ROLLBACK TO SAVEPOINT
        "ROLLBACK" | "ABORT" => TxStmt::Other,
        "PREPARE" if w.get(1).map(String::as_str) == Some("TRANSACTION") => TxStmt::Other,
        _ => return None,
    })
}

/// Why PostgreSQL refuses this statement inside a transaction block, if it does.
fn non_transactional(s: &Stmt) -> Option<&'static str> {
    let w: Vec<&str> = s.words.iter().map(String::as_str).collect();
    let has = |x: &str| s.all_words.iter().any(|y| y == x);
    let at = |k: usize| w.get(k).copied().unwrap_or("");
    match (at(0), at(1)) {
        ("VACUUM", _) => Some("VACUUM"),
        ("CREATE", "INDEX") if at(2) == "CONCURRENTLY" => Some("CREATE INDEX CONCURRENTLY"),
        ("CREATE", "UNIQUE") if at(2) == "INDEX" && at(3) == "CONCURRENTLY" => {
            Some("CREATE INDEX CONCURRENTLY")
        }
        ("DROP", "INDEX") if at(2) == "CONCURRENTLY" => Some("DROP INDEX CONCURRENTLY"),
        ("REINDEX", _) if has("CONCURRENTLY") => Some("REINDEX ... CONCURRENTLY"),
        ("REINDEX", "SCHEMA" | "DATABASE" | "SYSTEM") => Some("REINDEX SCHEMA / DATABASE / SYSTEM"),
        ("CREATE", "DATABASE") => Some("CREATE DATABASE"),
        ("DROP", "DATABASE") => Some("DROP DATABASE"),
        ("ALTER", "DATABASE") if w.windows(2).any(|p| p == ["SET", "TABLESPACE"]) => {
            Some("ALTER DATABASE ... SET TABLESPACE")
        }
        ("ALTER", "SYSTEM") => Some("ALTER SYSTEM"),
        ("CREATE", "TABLESPACE") => Some("CREATE TABLESPACE"),
        ("DROP", "TABLESPACE") => Some("DROP TABLESPACE"),
        ("CREATE", "SUBSCRIPTION") => Some("CREATE SUBSCRIPTION"),
        ("DROP", "SUBSCRIPTION") => Some("DROP SUBSCRIPTION"),
        ("ALTER", "SUBSCRIPTION") if has("REFRESH") => Some("ALTER SUBSCRIPTION ... REFRESH"),
        ("ALTER", "TABLE") if has("DETACH") && has("CONCURRENTLY") => {
            Some("ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY")
        }
        ("CLUSTER", _) if w.iter().skip(1).all(|x| *x == "VERBOSE") => {
            Some("CLUSTER without a table")
        }
        ("DISCARD", "ALL") => Some("DISCARD ALL"),
        ("COMMIT", "PREPARED") | ("ROLLBACK", "PREPARED") => Some("COMMIT / ROLLBACK PREPARED"),
        _ => None,
    }
}

/// Check a script and make it runnable inside the runner's transaction (see the module doc).
/// `file` names it in messages (`file:line: ...`).
pub fn prepare_script(text: &str, file: &str, kind: ScriptKind) -> Result<Prepared> {
    let refuse = |line: u64, what: String, todo: &str| {
        Error::bad_input(
            "unsupported_script",
            format!("{file}:{line}: {what} The harness runs each {kind} script inside a transaction of its own (with lock_timeout and statement_timeout) through the PostgreSQL protocol, not through psql, so nothing of the plan was run."),
        )
        .with_hint(todo.to_string())
    };
    let meta_line = text
        .lines()
        .position(|l| l.trim_start().starts_with('\\'))
        .map(|i| i as u64 + 1);
    let dialect = PostgreSqlDialect {};
    let tokens = match Tokenizer::new(&dialect, text).tokenize_with_location() {
        Ok(t) => t,
        Err(e) => {
            if let Some(l) = meta_line.filter(|l| *l <= e.location.line.max(1)) {
                return Err(meta(l, &refuse));
            }
            return Err(Error::bad_input(
                "unsupported_script",
                format!(
                    "{file}:{}:{}: cannot be split into SQL statements: {}.",
                    e.location.line, e.location.column, e.message
                ),
            )
            .with_hint("Check the quoting (a string, quoted identifier, dollar quote or /* comment */ left open) at that place."));
        }
    };
    for t in &tokens {
        if matches!(t.token, Token::Backslash) {
            return Err(meta(t.span.start.line, &refuse));
        }
    }
    let stmts = split(&tokens);
    // Before the BEGIN / COMMIT pairing: the tokenizer reads what follows FROM STDIN as data.
    if let Some(s) = stmts.iter().find(|s| {
        s.words.first().map(String::as_str) == Some("COPY")
            && s.words.iter().any(|w| w == "STDIN" || w == "STDOUT")
    }) {
        return Err(refuse(
            s.line,
            "COPY ... FROM STDIN / TO STDOUT needs psql to feed or read the data.".into(),
            "Use INSERT ... VALUES (or INSERT ... SELECT) for seed rows.",
        ));
    }

    // The outer BEGIN / final COMMIT pair.
    let mut strip: Vec<usize> = Vec::new();
    let first_tx = stmts.first().and_then(|s| tx_stmt(&s.words));
    let last_tx = if stmts.len() > 1 {
        stmts.last().and_then(|s| tx_stmt(&s.words))
    } else {
        None
    };
    match (&first_tx, &last_tx) {
        (Some(TxStmt::Begin), Some(TxStmt::Commit)) => strip = vec![0, stmts.len() - 1],
        (Some(TxStmt::Begin), Some(TxStmt::Rollback)) if kind == ScriptKind::Verify => {
            strip = vec![0, stmts.len() - 1]
        }
        (Some(TxStmt::Begin), Some(TxStmt::Rollback)) => {
            let s = &stmts[stmts.len() - 1];
            return Err(refuse(
                s.line,
                format!("the {kind} script ends with ROLLBACK: under Sqitch it would change nothing and still be recorded as done."),
                "End the script with COMMIT (or drop the BEGIN / ROLLBACK pair).",
            ));
        }
        (Some(TxStmt::Begin), _) => {
            if let Some(s) = stmts[1..].iter().find(|s| tx_stmt(&s.words).is_some()) {
                let shown = s
                    .words
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" ");
                return Err(refuse(
                    s.line,
                    format!("transaction control ({shown}) other than the script's own outer BEGIN; ... COMMIT;."),
                    "Keep one BEGIN; as the script's first statement and one COMMIT; as its last (or none); split the change in two if it needs two transactions.",
                ));
            }
            return Err(refuse(
                stmts[0].line,
                "the script opens a transaction (BEGIN) that its last statement does not close with COMMIT.".into(),
                "End the script with COMMIT; (a verify script may end with ROLLBACK;).",
            ));
        }
        _ => {}
    }
    for (k, s) in stmts.iter().enumerate() {
        if strip.contains(&k) {
            continue;
        }
        if tx_stmt(&s.words).is_some() {
            let shown = s
                .words
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(" ");
            return Err(refuse(
                s.line,
                format!("transaction control ({shown}) other than the script's own outer BEGIN; ... COMMIT;."),
                "Keep one BEGIN; as the script's first statement and one COMMIT; as its last (or none); use SAVEPOINT / ROLLBACK TO SAVEPOINT inside, and split the change in two if it needs two transactions.",
            ));
        }
        if let Some(what) = non_transactional(s) {
            return Err(refuse(
                s.line,
                format!("{what} cannot run inside a transaction block, and every step runs in one."),
                "Move the statement out of the plan (run it by hand after the migration), or use its transactional form (e.g. CREATE INDEX without CONCURRENTLY).",
            ));
        }
    }

    // Edits: blank the stripped statements (keeping newlines), SET -> SET LOCAL.
    let mut line_starts = vec![0usize];
    line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    let pos =
        |t: &TokenWithSpan| offset(text, &line_starts, t.span.start.line, t.span.start.column);
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for &k in &strip {
        let s = &stmts[k];
        let from = pos(&tokens[s.first]);
        let to = match tokens.get(s.end) {
            Some(t) if matches!(t.token, Token::SemiColon) => pos(t) + 1,
            Some(t) => pos(t),
            None => text.len(),
        };
        let blank: String = text[from..to]
            .chars()
            .map(|c| if c == '\n' || c == '\r' { c } else { ' ' })
            .collect();
        edits.push((from, to, blank));
    }
    let mut creates_schemas = Vec::new();
    for (k, s) in stmts.iter().enumerate() {
        if strip.contains(&k) {
            continue;
        }
        let w = &s.words;
        if w.first().map(String::as_str) == Some("SET") {
            let next = w.get(1).map(String::as_str).unwrap_or("");
            let after = w.get(2).map(String::as_str).unwrap_or("");
            let sig: Vec<usize> = (s.first..s.end)
                .filter(|&i| significant(&tokens[i].token))
                .collect();
            match next {
                "LOCAL" | "TRANSACTION" | "CONSTRAINTS" => {}
                "SESSION" if after == "CHARACTERISTICS" => {}
                "SESSION" if after == "AUTHORIZATION" => {
                    if let Some(&i) = sig.get(1) {
                        let at = pos(&tokens[i]);
                        edits.push((at, at, "LOCAL ".into()));
                    }
                }
                "SESSION" => {
                    if let Some(&i) = sig.get(1) {
                        let at = pos(&tokens[i]);
                        edits.push((at, at + "SESSION".len(), "LOCAL".into()));
                    }
                }
                _ => {
                    if let Some(&i) = sig.get(1) {
                        let at = pos(&tokens[i]);
                        edits.push((at, at, "LOCAL ".into()));
                    }
                }
            }
        }
        if w.first().map(String::as_str) == Some("CREATE")
            && w.get(1).map(String::as_str) == Some("SCHEMA")
        {
            let names: Vec<&Token> = (s.first..s.end)
                .map(|i| &tokens[i].token)
                .filter(|t| significant(t))
                .skip(2)
                .collect();
            let mut idx = 0;
            let is = |t: Option<&&Token>, kw: &str| matches!(t, Some(Token::Word(x)) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(kw));
            if is(names.first(), "IF") && is(names.get(1), "NOT") && is(names.get(2), "EXISTS") {
                idx = 3;
            }
            if is(names.get(idx), "AUTHORIZATION") {
                idx += 1;
            }
            if let Some(Token::Word(x)) = names.get(idx) {
                creates_schemas.push(if x.quote_style.is_some() {
                    x.value.clone()
                } else {
                    x.value.to_lowercase()
                });
            }
        }
    }
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut sql = text.to_string();
    for (from, to, with) in edits {
        sql.replace_range(from..to, &with);
    }
    Ok(Prepared {
        sql,
        creates_schemas,
    })
}

fn meta(line: u64, refuse: &dyn Fn(u64, String, &str) -> Error) -> Error {
    refuse(
        line,
        "a psql meta-command (a line starting with `\\`) cannot be run.".into(),
        "Replace it with SQL (\\set / \\gset / \\if have no SQL equivalent inside one script: inline the value; \\i: paste the file) or run that part by hand.",
    )
}

// ---------------------------------------------------------------------------------------------
// The project as plan steps

/// A Sqitch project read as the runner's steps.
#[derive(Debug, Clone)]
pub struct Project {
    pub plan: SqitchPlan,
    /// One step per change instance, in plan order; an earlier instance of a reworked change
    /// is named `name@TAG`.
    pub steps: Vec<Step>,
    /// The one schema the deploy scripts create.
    pub schema: String,
    /// `(relative path, sha256)` of sqitch.plan and, when present, sqitch.conf.
    pub files: Vec<(String, String)>,
}

/// Read the project in `dir` through `read` (a file's text by relative path) and `exists`.
pub fn load(
    dir: &Path,
    read: &dyn Fn(&str) -> Result<String>,
    exists: &dyn Fn(&str) -> bool,
) -> Result<Project> {
    let shown = |rel: &str| dir.join(rel).display().to_string();
    let plan_text = read("sqitch.plan")?;
    let plan = parse_plan(&plan_text, &shown("sqitch.plan"))?;
    let mut files = vec![("sqitch.plan".to_string(), sha256_hex(plan_text.as_bytes()))];
    if exists("sqitch.conf") {
        let conf = read("sqitch.conf")?;
        check_conf(&conf, &shown("sqitch.conf"))?;
        files.push(("sqitch.conf".to_string(), sha256_hex(conf.as_bytes())));
    }
    let mut steps = Vec::with_capacity(plan.changes.len());
    let mut schemas = BTreeSet::new();
    for c in &plan.changes {
        let (stem, step_name) = if c.rework_tags.is_empty() {
            (c.name.clone(), c.name.clone())
        } else {
            let cands: Vec<String> = c
                .rework_tags
                .iter()
                .map(|t| format!("{}@{t}", c.name))
                .collect();
            let pick = cands
                .iter()
                .find(|s| exists(&format!("deploy/{s}.sql")))
                .unwrap_or(&cands[0])
                .clone();
            (pick.clone(), pick)
        };
        let mut texts = Vec::with_capacity(3);
        let mut hashes = Vec::with_capacity(3);
        for kind in [ScriptKind::Deploy, ScriptKind::Verify, ScriptKind::Revert] {
            let rel = format!("{kind}/{stem}.sql");
            if !exists(&rel) {
                let why = if c.rework_tags.is_empty() {
                    String::new()
                } else {
                    format!(" (change \"{}\" is reworked later in the plan, so this instance's scripts carry the tag: `sqitch rework` copies them to {kind}/{}@<tag>.sql)", c.name, c.name)
                };
                return Err(Error::bad_input(
                    "plan_file_missing",
                    format!(
                        "{}:{}: change \"{}\" has no {kind} script {}{why}.",
                        shown("sqitch.plan"),
                        c.line,
                        c.name,
                        shown(&rel)
                    ),
                )
                .with_hint("Every change needs deploy/, verify/ and revert/ scripts, as `sqitch add` creates them."));
            }
            let text = read(&rel)?;
            hashes.push((rel.clone(), sha256_hex(text.as_bytes())));
            let p = prepare_script(&text, &shown(&rel), kind)?;
            if kind == ScriptKind::Deploy {
                schemas.extend(p.creates_schemas.iter().cloned());
            }
            texts.push(p.sql);
        }
        let mut t = texts.into_iter();
        let (Some(deploy), Some(verify), Some(revert)) = (t.next(), t.next(), t.next()) else {
            return Err(Error::internal(
                "plan_build",
                "three scripts prepared but not found",
            ));
        };
        steps.push(Step {
            name: step_name,
            deploy,
            verify,
            revert,
            files: hashes,
        });
    }
    let schema = match schemas.len() {
        1 => schemas.into_iter().next().unwrap_or_default(),
        0 => {
            return Err(Error::bad_input(
                "plan_schema",
                format!("{}: no deploy script creates a schema (CREATE SCHEMA), so the harness cannot tell which schema the plan owns (the one it archives before a revert and whose absence means \"not deployed\").", shown("sqitch.plan")),
            )
            .with_hint("P0 creates its own schema (SPEC §7a: cutter_governance): add CREATE SCHEMA to the first change's deploy script."))
        }
        _ => {
            return Err(Error::bad_input(
                "plan_schema",
                format!("{}: the deploy scripts create {} schemas ({}); the harness proves a plan that owns exactly one schema.", shown("sqitch.plan"), schemas.len(), schemas.into_iter().collect::<Vec<_>>().join(", ")),
            )
            .with_hint("Bring the changes of one schema as the plan (P0 owns cutter_governance)."))
        }
    };
    Ok(Project {
        plan,
        steps,
        schema,
        files,
    })
}

/// The archive generator for a plan that brings none (a Sqitch project): one
/// `(table_name, sql)` row per table of `schema` (partitions through their parent), children
/// before parents by foreign keys (then by name), each `sql` returning
/// `(table_name, row_json)` ordered by the primary key (by the row's text without one).
/// `schema` must be a plain identifier.
pub fn generic_archive_sql(schema: &str) -> String {
    format!(
        r#"-- Generated archive generator for schema {schema} (the plan brings no archive.sql).
WITH RECURSIVE tbl AS (
    SELECT c.oid, c.relname
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace AND n.nspname = '{schema}'
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
), fk AS (
    SELECT DISTINCT k.conrelid AS child, k.confrelid AS parent
    FROM pg_catalog.pg_constraint AS k
    WHERE k.contype = 'f' AND k.conparentid = 0 AND k.conrelid <> k.confrelid
      AND k.conrelid IN (SELECT oid FROM tbl) AND k.confrelid IN (SELECT oid FROM tbl)
), chain (oid, depth, path) AS (
    SELECT tbl.oid, 0, ARRAY[tbl.oid] FROM tbl
    UNION ALL
    SELECT fk.parent, chain.depth + 1, chain.path || fk.parent
    FROM chain JOIN fk ON fk.child = chain.oid
    WHERE fk.parent <> ALL (chain.path)
), level AS (
    SELECT oid, max(depth) AS depth FROM chain GROUP BY oid
)
SELECT tbl.relname::text AS table_name,
       pg_catalog.format(
           'SELECT %L::text AS table_name, pg_catalog.row_to_json(t)::text AS row_json FROM %I.%I AS t ORDER BY %s',
           tbl.relname, '{schema}', tbl.relname,
           COALESCE((
               SELECT pg_catalog.string_agg(pg_catalog.format('t.%I', a.attname), ', ' ORDER BY k.ord)
               FROM pg_catalog.pg_index AS i
               CROSS JOIN LATERAL pg_catalog.unnest(i.indkey) WITH ORDINALITY AS k (attnum, ord)
               JOIN pg_catalog.pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
               WHERE i.indrelid = tbl.oid AND i.indisprimary),
           't::text COLLATE "C"')) AS sql
FROM tbl JOIN level ON level.oid = tbl.oid
ORDER BY level.depth, tbl.relname COLLATE "C""#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "%syntax-version=1.0.0\n%project=p0\n%uri=https://example.invalid/p0\n\n";
    const WHO: &str = "2026-01-01T00:00:00Z Planner Name <planner@example.com>";

    fn plan(body: &str) -> Result<SqitchPlan> {
        parse_plan(&format!("{HEAD}{body}"), "x/sqitch.plan")
    }

    fn err(body: &str) -> Error {
        plan(body).expect_err("refused")
    }

    #[test]
    fn pragmas_changes_tags_notes_and_dependencies() {
        let p = plan(&format!(
            "# a comment\n\
             a {WHO} # first change\n\
             \n\
             +b [a] {WHO}\n\
             c [a b !z] {WHO} # with a note # and a hash\n\
             @v1.0 {WHO} # the first tag\n\
             d [a@v1.0 @v1.0 p0:c] {WHO}\n\
             dir/e {WHO}\n"
        ))
        .expect("parses");
        assert_eq!(p.project, "p0");
        assert_eq!(p.uri.as_deref(), Some("https://example.invalid/p0"));
        assert_eq!(p.syntax_version.as_deref(), Some("1.0.0"));
        let names: Vec<&str> = p.changes.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d", "dir/e"]);
        let a = &p.changes[0];
        assert_eq!((a.line, a.note.as_deref()), (6, Some("first change")));
        assert_eq!(a.timestamp, "2026-01-01T00:00:00Z");
        assert_eq!(
            (a.planner_name.as_str(), a.planner_email.as_str()),
            ("Planner Name", "planner@example.com")
        );
        let c = &p.changes[2];
        assert_eq!(c.note.as_deref(), Some("with a note # and a hash"));
        assert_eq!(
            c.requires
                .iter()
                .map(|d| d.text.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(c.conflicts.len(), 1);
        assert_eq!(c.conflicts[0].change.as_deref(), Some("z"));
        assert_eq!(c.tags, ["v1.0"]);
        assert_eq!(p.tags.len(), 1);
        assert_eq!((p.tags[0].line, p.tags[0].change), (10, 2));
        assert_eq!(p.tags[0].note.as_deref(), Some("the first tag"));
        let d = &p.changes[3];
        assert_eq!(d.requires[0].change.as_deref(), Some("a"));
        assert_eq!(d.requires[0].tag.as_deref(), Some("v1.0"));
        assert_eq!(d.requires[1].change, None);
        assert_eq!(d.requires[1].tag.as_deref(), Some("v1.0"));
        assert_eq!(d.requires[2].project.as_deref(), Some("p0"));
        assert!(p.changes.iter().all(|c| c.rework_tags.is_empty()));
    }

    #[test]
    fn crlf_and_no_trailing_newline() {
        let text = format!("%project=p\r\n\r\na {WHO}\r\nb [a] {WHO}");
        let p = parse_plan(&text, "sqitch.plan").expect("parses");
        assert_eq!(p.changes.len(), 2);
        assert_eq!(p.changes[1].planner_email, "planner@example.com");
    }

    #[test]
    fn reworked_change_gets_its_tags_latest_first() {
        let p = plan(&format!(
            "a {WHO}\nb {WHO}\n@v1 {WHO}\n@v1b {WHO}\nc {WHO}\n@v2 {WHO}\n\nb [b@v2] {WHO}\n@v3 {WHO}\nb [b@v3] {WHO}\n"
        ))
        .expect("parses");
        let b: Vec<&Change> = p.changes.iter().filter(|c| c.name == "b").collect();
        assert_eq!(b.len(), 3);
        assert_eq!(b[0].rework_tags, ["v2", "v1", "v1b"]);
        assert_eq!(b[1].rework_tags, ["v3"]);
        assert!(b[2].rework_tags.is_empty());
    }

    fn refused_at(body: &str, line: usize, needle: &str) {
        let e = err(body);
        assert!(
            e.message.starts_with(&format!("x/sqitch.plan:{line}: ")),
            "{}",
            e.message
        );
        assert!(e.message.contains(needle), "{needle:?} in {}", e.message);
        assert!(e.hint.is_some());
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        refused_at(
            &format!("a {WHO}\na {WHO}\n"),
            6,
            "duplicates earlier declaration on line 5",
        );
        refused_at(
            &format!("a {WHO}\n@v1 {WHO}\n@v1 {WHO}\n"),
            7,
            "Tag \"v1\" duplicates",
        );
        refused_at(&format!("@v1 {WHO}\n"), 5, "without a preceding change");
        refused_at(&format!("a {WHO}\n@v/x {WHO}\n"), 6, "illegal character /");
        refused_at(
            &format!("a {WHO}\n@v1 [a] {WHO}\n"),
            6,
            "may not specify dependencies",
        );
        refused_at("a Planner <p@example.com>\n", 5, "Missing timestamp");
        refused_at(
            "a 2026-01-01T00:00:00Z\n",
            5,
            "Missing planner name and email",
        );
        refused_at("a\n", 5, "Missing timestamp and planner name and email");
        refused_at(&format!("-a {WHO}\n"), 5, "revert line");
        refused_at(&format!("a! {WHO}\n"), 5, "Invalid name");
        refused_at(&format!("foo@bar {WHO}\n"), 5, "Invalid name");
        refused_at(&format!("v1.2^3 {WHO}\n"), 5, "Invalid name");
        refused_at(&format!("HEAD {WHO}\n"), 5, "reserved name");
        refused_at(
            &format!("{} {WHO}\n", "a".repeat(40)),
            5,
            "confused with a SHA1",
        );
        refused_at(
            &format!("a {WHO}\nb [a a] {WHO}\n"),
            6,
            "Duplicate dependency",
        );
        refused_at(
            &format!("a {WHO}\nb [a b:] {WHO}\n"),
            6,
            "not a valid dependency",
        );
        refused_at(&format!("a [x {WHO}\n"), 5, "unterminated dependency list");
        // pragmas must be followed by an empty line before changes
        let e = parse_plan(&format!("%project=p0\na {WHO}\n"), "x/sqitch.plan").expect_err("x");
        assert!(
            e.message.starts_with("x/sqitch.plan:2: Invalid pragma"),
            "{}",
            e.message
        );
        let e = parse_plan(
            &format!("%syntax-version=1.0.0\n\na {WHO}\n"),
            "x/sqitch.plan",
        )
        .expect_err("x");
        assert!(e.message.contains("Missing %project"), "{}", e.message);
        assert_eq!(e.kind, "malformed_plan");
    }

    #[test]
    fn dependencies_must_name_earlier_changes() {
        let kind = |body: &str| err(body).kind;
        refused_at(
            &format!("a [b] {WHO}\nb {WHO}\n"),
            5,
            "which the plan deploys later (line 6)",
        );
        refused_at(&format!("a [nope] {WHO}\n"), 5, "not declared earlier");
        refused_at(&format!("a [a] {WHO}\n"), 5, "cannot require itself");
        refused_at(&format!("a [@v9] {WHO}\n"), 5, "\"@v9\"");
        refused_at(
            &format!("a {WHO}\nb [a@v1] {WHO}\n@v1 {WHO}\n"),
            6,
            "\"a@v1\"",
        );
        refused_at(
            &format!("a {WHO}\n@v1 {WHO}\nb [b@v1] {WHO}\n"),
            7,
            "cannot require itself",
        );
        refused_at(
            &format!("a {WHO}\nb [!a] {WHO}\n"),
            6,
            "conflicts with \"!a\", which the plan deploys earlier (line 5)",
        );
        refused_at(
            &format!("a [other:x] {WHO}\n"),
            5,
            "another Sqitch project (other)",
        );
        assert_eq!(
            kind(&format!("a [other:x] {WHO}\n")),
            "cross_project_dependency"
        );
        assert_eq!(
            kind(&format!("a [!other:x] {WHO}\n")),
            "cross_project_dependency"
        );
        refused_at(&format!("a [{}] {WHO}\n", "0".repeat(40)), 5, "SHA-1 id");
        assert_eq!(kind(&format!("a [nope] {WHO}\n")), "plan_dependency");
        // a conflict with a later change, and this project's own prefix, are fine
        plan(&format!("a [!b] {WHO}\nb [p0:a] {WHO}\n")).expect("fine");
    }

    fn prep(text: &str, kind: ScriptKind) -> Result<Prepared> {
        prepare_script(text, "p/deploy/x.sql", kind)
    }

    fn refused(text: &str, kind: ScriptKind, line: usize, needle: &str) {
        let e = prep(text, kind).expect_err("refused");
        assert_eq!(e.kind, "unsupported_script");
        assert!(
            e.message.starts_with(&format!("p/deploy/x.sql:{line}: ")),
            "{}",
            e.message
        );
        assert!(e.message.contains(needle), "{needle:?} in {}", e.message);
        assert!(e.hint.is_some());
    }

    #[test]
    fn outer_begin_and_commit_are_blanked_keeping_lines() {
        let text = "-- Deploy p0:a to pg\n-- requires: b\n\nBEGIN;\n\nCREATE SCHEMA s; -- BEGIN; in a comment\nCREATE TABLE s.t (x text DEFAULT 'COMMIT;');\n\nCOMMIT;\n-- trailing\n";
        let p = prep(text, ScriptKind::Deploy).expect("prepared");
        assert_eq!(p.sql.lines().count(), text.lines().count());
        assert!(!p.sql.contains("\nBEGIN;"), "{}", p.sql);
        assert!(!p.sql.contains("\nCOMMIT;"), "{}", p.sql);
        assert!(p.sql.contains("'COMMIT;'"));
        assert!(p.sql.contains("-- BEGIN; in a comment"));
        assert_eq!(
            p.sql.lines().nth(5),
            Some("CREATE SCHEMA s; -- BEGIN; in a comment")
        );
        assert_eq!(p.creates_schemas, ["s"]);
        // variants: START TRANSACTION / END, lower case, /* */ comments around
        let p = prep(
            "/* head */ start transaction ; select 1; /* x */ end /* y */ ;\n",
            ScriptKind::Deploy,
        )
        .expect("prepared");
        assert_eq!(
            p.sql.trim_end(),
            "/* head */                     select 1; /* x */"
        );
        // a verify may end with ROLLBACK; a deploy may not
        prep(
            "BEGIN;\nSELECT 1/count(*) FROM t;\nROLLBACK;\n",
            ScriptKind::Verify,
        )
        .expect("ok");
        refused(
            "BEGIN;\nSELECT 1;\nROLLBACK;\n",
            ScriptKind::Deploy,
            3,
            "ends with ROLLBACK",
        );
        refused(
            "BEGIN;\nSELECT 1;\n",
            ScriptKind::Deploy,
            1,
            "does not close",
        );
        // no BEGIN/COMMIT at all is fine (it runs in the runner's transaction)
        assert_eq!(
            prep("SELECT 1;\n", ScriptKind::Deploy).expect("ok").sql,
            "SELECT 1;\n"
        );
    }

    #[test]
    fn quotes_dollar_quotes_and_atomic_bodies_do_not_split() {
        let text = "BEGIN;\n\
            CREATE FUNCTION s.f() RETURNS trigger LANGUAGE plpgsql AS $fn$\nBEGIN\n  COMMIT;\n  RETURN NULL;\nEND\n$fn$;\n\
            DO $$ BEGIN ROLLBACK; END $$;\n\
            DO $a$ BEGIN EXECUTE $b$ COMMIT $b$; END $a$;\n\
            CREATE FUNCTION s.g() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN true THEN 1 END;\n  SELECT 2;\nEND;\n\
            SELECT E'it\\'s; COMMIT', 'a''b; ROLLBACK', \"COMMIT\" FROM t;\n\
            /* nested /* COMMIT; */ still */ SELECT 1;\n\
            COMMIT;\n";
        let p = prep(text, ScriptKind::Deploy).expect("prepared");
        assert!(p.sql.contains("$fn$\nBEGIN\n  COMMIT;"));
        assert!(p.sql.contains("BEGIN ATOMIC\n  SELECT CASE"));
        assert!(p.sql.ends_with("SELECT 1;\n       \n"), "{:?}", p.sql);
    }

    #[test]
    fn what_the_runner_cannot_honour_is_refused_with_its_line() {
        let d = ScriptKind::Deploy;
        refused(
            "BEGIN;\n\\set ON_ERROR_STOP 1\nCOMMIT;\n",
            d,
            2,
            "psql meta-command",
        );
        refused("SELECT 1;\n  \\i other.sql\n", d, 2, "psql meta-command");
        refused("SELECT 1 \\gset\n", d, 1, "psql meta-command");
        refused("SELECT 1;\n\\echo 'it\n", d, 2, "psql meta-command");
        refused(
            "BEGIN;\nSELECT 1;\nCOMMIT;\nSELECT 2;\n",
            d,
            3,
            "transaction control (COMMIT)",
        );
        refused(
            "SELECT 1;\nBEGIN;\nSELECT 2;\nCOMMIT;\n",
            d,
            2,
            "transaction control (BEGIN)",
        );
        refused("SELECT 1;\nCOMMIT;\n", d, 2, "transaction control");
        refused(
            "BEGIN;\nPREPARE TRANSACTION 'x';\nCOMMIT;\n",
            d,
            2,
            "transaction control",
        );
        refused(
            "BEGIN ISOLATION LEVEL SERIALIZABLE;\nSELECT 1;\nCOMMIT;\n",
            d,
            1,
            "transaction control",
        );
        refused(
            "BEGIN;\nSELECT 1;\nCOMMIT AND CHAIN;\n",
            d,
            3,
            "transaction control (COMMIT AND CHAIN)",
        );
        for (sql, what) in [
            (
                "CREATE INDEX CONCURRENTLY i ON t (x);",
                "CREATE INDEX CONCURRENTLY",
            ),
            (
                "create unique index concurrently i on t (x);",
                "CREATE INDEX CONCURRENTLY",
            ),
            (
                "DROP INDEX CONCURRENTLY IF EXISTS i;",
                "DROP INDEX CONCURRENTLY",
            ),
            ("REINDEX TABLE CONCURRENTLY t;", "REINDEX ... CONCURRENTLY"),
            (
                "REINDEX (CONCURRENTLY) INDEX i;",
                "REINDEX ... CONCURRENTLY",
            ),
            ("REINDEX DATABASE d;", "REINDEX SCHEMA / DATABASE / SYSTEM"),
            ("VACUUM ANALYZE t;", "VACUUM"),
            ("CREATE DATABASE d;", "CREATE DATABASE"),
            ("DROP DATABASE IF EXISTS d;", "DROP DATABASE"),
            ("ALTER SYSTEM SET work_mem = '1MB';", "ALTER SYSTEM"),
            ("CREATE TABLESPACE ts LOCATION '/x';", "CREATE TABLESPACE"),
            ("DROP TABLESPACE ts;", "DROP TABLESPACE"),
            (
                "ALTER DATABASE d SET TABLESPACE ts;",
                "ALTER DATABASE ... SET TABLESPACE",
            ),
            (
                "ALTER TABLE p DETACH PARTITION c CONCURRENTLY;",
                "DETACH PARTITION",
            ),
            ("CLUSTER;", "CLUSTER without a table"),
            ("DISCARD ALL;", "DISCARD ALL"),
            (
                "CREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p;",
                "CREATE SUBSCRIPTION",
            ),
            ("COPY t FROM STDIN;", "COPY ... FROM STDIN"),
        ] {
            refused(&format!("BEGIN;\n\n{sql}\nCOMMIT;\n"), d, 3, what);
        }
        // their transactional relatives pass
        for sql in [
            "CREATE INDEX i ON t (x);",
            "REINDEX TABLE t;",
            "CLUSTER t USING i;",
            "ANALYZE t;",
            "ALTER DATABASE d SET work_mem = '1MB';",
            "SAVEPOINT a; ROLLBACK TO SAVEPOINT a; RELEASE a;",
            "REFRESH MATERIALIZED VIEW CONCURRENTLY m;",
            "COPY t TO '/tmp/x';",
            "SELECT 'VACUUM; CREATE DATABASE x;';",
        ] {
            prep(&format!("BEGIN;\n{sql}\nCOMMIT;\n"), d).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        let e = prep("SELECT 'open;\n", d).expect_err("unterminated");
        assert!(e.message.starts_with("p/deploy/x.sql:1:"), "{}", e.message);
    }

    #[test]
    fn session_settings_become_transaction_settings() {
        let p = prep(
            "BEGIN;\nSET client_min_messages = 'warning';\nset search_path to s;\nSET SESSION statement_timeout = 0;\nSET LOCAL lock_timeout = 0;\nSET SESSION AUTHORIZATION DEFAULT;\nSET TRANSACTION READ ONLY;\nCOMMIT;\n",
            ScriptKind::Revert,
        )
        .expect("prepared");
        let lines: Vec<&str> = p.sql.lines().collect();
        assert_eq!(lines[1], "SET LOCAL client_min_messages = 'warning';");
        assert_eq!(lines[2], "set LOCAL search_path to s;");
        assert_eq!(lines[3], "SET LOCAL statement_timeout = 0;");
        assert_eq!(lines[4], "SET LOCAL lock_timeout = 0;");
        assert_eq!(lines[5], "SET LOCAL SESSION AUTHORIZATION DEFAULT;");
        assert_eq!(lines[6], "SET TRANSACTION READ ONLY;");
    }

    #[test]
    fn created_schemas_are_found() {
        let p = prep(
            "CREATE SCHEMA IF NOT EXISTS a;\ncreate schema \"Quoted\";\nCREATE SCHEMA AUTHORIZATION joe;\nCREATE SCHEMA B AUTHORIZATION joe;\nSELECT 'CREATE SCHEMA x';\n",
            ScriptKind::Deploy,
        )
        .expect("prepared");
        assert_eq!(p.creates_schemas, ["a", "Quoted", "joe", "b"]);
    }

    #[test]
    fn conf_engine_and_layout() {
        check_conf(
            "[core]\n\tengine = pg\n[engine \"pg\"]\n\ttarget = db:pg:\n",
            "c",
        )
        .expect("ok");
        check_conf("[core]\n\ttop_dir = .\n\tdeploy_dir = deploy\n", "c").expect("default layout");
        let e = check_conf("[core]\n\tengine = mysql\n", "x/sqitch.conf").expect_err("engine");
        assert!(e.message.starts_with("x/sqitch.conf:2: "), "{}", e.message);
        assert_eq!(e.kind, "sqitch_conf");
        let e = check_conf("[core]\n\tengine = pg\n\ttop_dir = db\n", "x/sqitch.conf")
            .expect_err("layout");
        assert!(
            e.message.starts_with("x/sqitch.conf:3: core.top_dir"),
            "{}",
            e.message
        );
        let e = check_conf("[engine \"pg\"]\n\textension = psql\n", "c").expect_err("ext");
        assert!(e.message.contains("engine.pg.extension"), "{}", e.message);
    }

    /// A project on disk: the reworked change's earlier instance reads the `@tag` scripts.
    fn write(dir: &Path, files: &[(&str, &str)]) {
        for (rel, text) in files {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
    }

    fn load_dir(dir: &Path) -> Result<Project> {
        let read = |rel: &str| {
            let p = dir.join(rel);
            std::fs::read_to_string(&p).map_err(|e| Error::io(&p, "read", e))
        };
        let exists = |rel: &str| dir.join(rel).is_file();
        load(dir, &read, &exists)
    }

    #[test]
    fn reworked_change_reads_the_tagged_scripts() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let d = tmp.path();
        let plan =
            format!("%project=p\n\nschema {WHO}\nf [schema] {WHO}\n@v1 {WHO}\nf [f@v1] {WHO}\n");
        let mut files = vec![("sqitch.plan", plan.as_str())];
        let scripts = [
            ("deploy/schema.sql", "BEGIN;\nCREATE SCHEMA s;\nCOMMIT;\n"),
            ("verify/schema.sql", "SELECT 1;\n"),
            ("revert/schema.sql", "DROP SCHEMA IF EXISTS s;\n"),
            ("deploy/f@v1.sql", "-- f v1\n"),
            ("verify/f@v1.sql", "-- verify f v1\n"),
            ("revert/f@v1.sql", "-- revert f v1\n"),
            ("deploy/f.sql", "-- f v2\n"),
            ("verify/f.sql", "-- verify f v2\n"),
            ("revert/f.sql", "-- revert f v2\n"),
        ];
        files.extend(scripts);
        write(d, &files);
        let p = load_dir(d).expect("loads");
        assert_eq!(p.schema, "s");
        let names: Vec<&str> = p.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["schema", "f@v1", "f"]);
        assert_eq!(p.steps[1].deploy, "-- f v1\n");
        assert_eq!(p.steps[1].revert, "-- revert f v1\n");
        assert_eq!(p.steps[2].verify, "-- verify f v2\n");
        assert_eq!(
            p.steps[1]
                .files
                .iter()
                .map(|f| f.0.as_str())
                .collect::<Vec<_>>(),
            ["deploy/f@v1.sql", "verify/f@v1.sql", "revert/f@v1.sql"]
        );
        assert_eq!(p.steps[0].deploy, "      \nCREATE SCHEMA s;\n       \n");
        assert_eq!(p.files.len(), 1);

        // the tagged file missing: named, with why
        std::fs::remove_file(d.join("revert/f@v1.sql")).expect("rm");
        let e = load_dir(d).expect_err("missing");
        assert_eq!(e.kind, "plan_file_missing");
        assert!(
            e.message
                .contains("sqitch.plan:4: change \"f\" has no revert script"),
            "{}",
            e.message
        );
        assert!(e.message.contains("revert/f@v1.sql"), "{}", e.message);
        assert!(e.message.contains("reworked later"), "{}", e.message);
        write(d, &[("revert/f@v1.sql", "SELECT 1;\n")]);

        // a refused script stops the load, naming its file and line
        write(d, &[("verify/f.sql", "SELECT 1;\n\\q\n")]);
        let e = load_dir(d).expect_err("meta");
        assert!(e.message.contains("verify/f.sql:2: "), "{}", e.message);
        write(d, &[("verify/f.sql", "SELECT 1;\n")]);

        // no schema, several schemas
        write(d, &[("deploy/schema.sql", "SELECT 1;\n")]);
        assert_eq!(load_dir(d).expect_err("none").kind, "plan_schema");
        write(
            d,
            &[
                ("deploy/schema.sql", "CREATE SCHEMA s;\n"),
                ("deploy/f.sql", "CREATE SCHEMA t;\n"),
            ],
        );
        let e = load_dir(d).expect_err("two");
        assert!(e.message.contains("2 schemas (s, t)"), "{}", e.message);
    }

    #[test]
    fn rework_tag_file_is_the_first_that_exists_in_sqitch_order() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let d = tmp.path();
        let plan =
            format!("%project=p\n\ns {WHO}\n@v1 {WHO}\nx {WHO}\n@v2 {WHO}\n\ns [s@v2] {WHO}\n");
        let mut files: Vec<(String, String)> = vec![("sqitch.plan".into(), plan)];
        for k in ["deploy", "verify", "revert"] {
            // only the @v1 copy exists (the rework tags are [v2, v1]): Sqitch takes it
            files.push((format!("{k}/s@v1.sql"), "CREATE SCHEMA s;\n".into()));
            files.push((format!("{k}/s.sql"), "SELECT 2;\n".into()));
            files.push((format!("{k}/x.sql"), "SELECT 3;\n".into()));
        }
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        write(d, &refs);
        let p = load_dir(d).expect("loads");
        assert_eq!(p.steps[0].name, "s@v1");
        write(
            d,
            &[
                ("deploy/s@v2.sql", "CREATE SCHEMA s;\n"),
                ("verify/s@v2.sql", ""),
                ("revert/s@v2.sql", ""),
            ],
        );
        assert_eq!(load_dir(d).expect("loads").steps[0].name, "s@v2");
    }

    #[test]
    fn generic_archive_names_the_schema() {
        let sql = generic_archive_sql("cutter_governance");
        assert!(sql.contains("n.nspname = 'cutter_governance'"));
        assert!(sql.contains("row_to_json"));
        assert!(!sql.trim_end().ends_with(';'));
    }
}
