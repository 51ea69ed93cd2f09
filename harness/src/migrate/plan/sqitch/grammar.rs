//! `sqitch.plan` read with Sqitch's own grammar: pragmas, changes, tags, notes, dependencies
//! and reworked changes, and the harness's stricter rule that dependencies name earlier changes.
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

use std::collections::{BTreeSet, HashMap};

use crate::error::{Error, ErrorKind, Result};

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
        Error::new(ErrorKind::MalformedPlan, format!("{file}:{line}: {msg}")).with_hint(
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
        return Err(Error::new(
            ErrorKind::MalformedPlan,
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
        return Err(Error::new(
            ErrorKind::MalformedPlan,
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
        let at = |msg: String, kind: ErrorKind, hint: &str| {
            Error::new(
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
                    ErrorKind::CrossProjectDependency,
                    "Deploy the other project as part of the baseline (restore a dump that has it), remove the dependency, or bring both projects as one plan.",
                ));
            }
            if d.id.is_some() {
                return Err(at(
                    format!("names a change by its SHA-1 id ({}); the harness resolves dependencies by name only.", d.text),
                    ErrorKind::PlanDependency,
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
                ErrorKind::PlanDependency,
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
                    ErrorKind::PlanDependency,
                    "Revert or remove the conflicting change before this one, or drop the conflict.",
                ));
            }
        }
    }
    Ok(())
}
