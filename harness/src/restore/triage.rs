//! Reading pg_restore's outcome: each message of its stderr, benign or not, the exit code and
//! the error count it reports, into one verdict a person can check.

use serde::Serialize;

#[allow(unused_imports)]
use super::*;

/// One error printed by pg_restore, and the judgement on it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RestoreMessage {
    pub benign: bool,
    /// `missing_role` for the known-benign case, else `restore_error`.
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RestoreOutcome {
    pub exit_code: i64,
    pub jobs: u32,
    /// pg_restore's own count (`errors ignored on restore: N`).
    pub errors_ignored: Option<u32>,
    pub messages: Vec<RestoreMessage>,
    /// What the messages account for of pg_restore's count: the messages, plus one for each
    /// item a parallel worker restored with errors (see [`triage`]).
    pub errors_accounted: u32,
    /// Why pg_restore's count differs from the number of messages, or what is left over.
    pub count_note: Option<String>,
    pub passed: bool,
}

/// Split pg_restore's stderr into error entries and judge each: a role named in the dump but
/// missing on the server is the one known-benign error; anything else fails.
///
/// Every error must be accounted for by pg_restore's own count. With `-j 1` each message counts
/// once. With `-j N > 1` the leader adds the errors a worker reports for an item
/// (`parseWorkerResponse`, `parallel.c`) and then one more for that item because its status is
/// "ignored errors" (`mark_restore_job_done`, `pg_backup_archiver.c`), so an item a worker
/// restored with k errors counts k + 1 (the fixture's one `workflow_admin` policy error counts 2
/// under `-j 2`, 1 under `-j 1`); items the leader restores itself count k. So the count minus
/// the messages is the number of worker items with errors: between 0 and one per message. (A
/// `-v` log would name each error's item, but its leader prints a line per item, and pg_restore
/// writes a message's prefix, level and text in separate writes, so a worker's error can be cut
/// in two by a leader line: seen once in a parallel test run.) A count outside what the
/// messages account for fails.
pub fn triage(exit_code: i64, stderr: &str, jobs: u32) -> RestoreOutcome {
    let mut messages: Vec<RestoreMessage> = Vec::new();
    let mut errors_ignored = None;
    let mut current: Option<String> = None;
    let flush = |cur: &mut Option<String>, msgs: &mut Vec<RestoreMessage>| {
        if let Some(m) = cur.take() {
            let benign = (m.contains("role \"") && m.contains("\" does not exist"))
                || crate::fault::sabotaged!("triage_all_benign");
            msgs.push(RestoreMessage {
                benign,
                kind: if benign {
                    "missing_role".into()
                } else {
                    "restore_error".into()
                },
                message: m.trim().to_string(),
            });
        }
    };
    for line in stderr.lines() {
        if let Some(rest) = line.strip_prefix("pg_restore: error: ") {
            flush(&mut current, &mut messages);
            current = Some(rest.to_string());
        } else if let Some(rest) =
            line.strip_prefix("pg_restore: warning: errors ignored on restore: ")
        {
            flush(&mut current, &mut messages);
            errors_ignored = rest.trim().parse().ok();
        } else if line.starts_with("pg_restore: ") {
            flush(&mut current, &mut messages);
        } else if let Some(c) = current.as_mut() {
            c.push('\n');
            c.push_str(line);
        }
    }
    flush(&mut current, &mut messages);
    let m = messages.len() as u32;
    // With -j 1 each message counts once; in parallel, between none and one extra per message.
    let (lo, hi) = if jobs > 1 { (m, 2 * m) } else { (m, m) };
    let counted_ok = errors_ignored.is_some_and(|n| (lo..=hi).contains(&n));
    let errors_accounted = match errors_ignored {
        Some(n) if counted_ok => n,
        Some(n) if n > hi => hi,
        _ => lo,
    };
    let count_note = match errors_ignored {
        Some(n) if counted_ok && n != m => Some(format!(
            "pg_restore counted {n} ignored errors for {m} message(s): with -j {jobs} each item a parallel worker restores with errors counts once more (the worker reports its errors, then the leader adds one for the item: mark_restore_job_done in pg_backup_archiver.c), so {} of these messages' items were restored by a worker. With -j 1 the count equals the messages.",
            n - m
        )),
        Some(n) if !counted_ok => Some(format!(
            "pg_restore counted {n} ignored errors, but its {m} message(s) account for {}: {} error(s) unaccounted for",
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo} to {hi} with -j {jobs}")
            },
            if n > hi { n - hi } else { lo - n }
        )),
        _ => None,
    };
    let all_benign = messages.iter().all(|m| m.benign);
    // pg_restore prints the count whenever it ignored an error; messages without it mean the
    // run stopped on one (or the log is not pg_restore's): never a pass.
    let passed = (exit_code == 0 && messages.is_empty())
        || (exit_code == 1 && !messages.is_empty() && all_benign && counted_ok);
    RestoreOutcome {
        exit_code,
        jobs: jobs.max(1),
        errors_ignored,
        messages,
        errors_accounted,
        count_note,
        passed,
    }
}
