//! Fault injection for the reliability tests: named points where `DRYRUN_FAULT` makes the
//! process pause, sleep or panic, or the upload run out of disk. Inert unless the variable is set.
//!
//! Syntax: `DRYRUN_FAULT=<point>=<action>[,<point>=<action>…]`, points `image`, `upload`,
//! `restore`, `scenario`, `docker`, actions `pause` (sleep 10 min), `sleep:<ms>`, `panic`,
//! `disk_full` (upload only: the dump goes to a 1 MiB volume) and `api:<major.minor>` (docker
//! only: every request path carries `/v<major.minor>`, as a bollard with issue #736 fixed
//! would send, so the start-up probe meets a real refusal). Reaching a point prints
//! `dryrun-fault: reached <point>` on stderr, so a test knows when to interrupt. A fault can
//! only make a run fail or wait, never pass.
//!
//! Harness faults for the negative controls (`harness/tests/detection.rs`):
//! `DRYRUN_SABOTAGE=<name>[,<name>…]` weakens one check on purpose (see `SABOTAGES`), so a
//! test can prove the suite turns red. They exist only in a build with the cargo feature
//! `negative-controls` (the test-only binary `dryrun-negative-control`); in the shipped
//! `dryrun` [`sabotaged`] is the constant `false` and the variable's name is not in the binary.
//!
//! Whenever a hook is active, [`active_hooks`] names it; every report carries that list and no
//! closure line is written under it.

use std::time::Duration;

/// The harness faults `DRYRUN_SABOTAGE` knows, each with what it breaks.
#[cfg(feature = "negative-controls")]
pub const SABOTAGES: &[(&str, &str)] = &[
    (
        "content_counts_only",
        "the data-fingerprint comparison of a compare step looks at row counts only",
    ),
    (
        "triage_all_benign",
        "restore triage takes every pg_restore error for benign",
    ),
    (
        "smoke_skip_table",
        "the smoke test skips public.tac_logical_unit",
    ),
    (
        "wrong_key_ignored",
        "a verify step's wrong_key case verifies with the signers' own keys",
    ),
    (
        "verify_retry_once",
        "the P0 runner silently re-runs a failing verify once (its events show one run)",
    ),
];

/// Whether the harness fault `name` is switched on by `DRYRUN_SABOTAGE` (negative-control
/// build only; call it through [`sabotaged!`]).
#[cfg(feature = "negative-controls")]
pub fn sabotage_on(name: &str) -> bool {
    let Ok(spec) = std::env::var("DRYRUN_SABOTAGE") else {
        return false;
    };
    let on = spec.split(',').any(|s| s.trim() == name);
    if on {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| eprintln!("dryrun-sabotage: {spec} active (negative control)"));
    }
    on
}

/// `sabotaged!("name")`: whether that harness fault is on. In the shipped binary it expands to
/// `false`, so neither the check nor the fault's name is compiled in.
#[cfg(feature = "negative-controls")]
#[doc(hidden)]
#[macro_export]
macro_rules! sabotaged {
    ($name:literal) => {
        $crate::fault::sabotage_on($name)
    };
}

/// `sabotaged!("name")`: whether that harness fault is on. In the shipped binary it expands to
/// `false`, so neither the check nor the fault's name is compiled in.
#[cfg(not(feature = "negative-controls"))]
#[doc(hidden)]
#[macro_export]
macro_rules! sabotaged {
    ($name:literal) => {
        false
    };
}
// Used by the harness's operations as `crate::fault::sabotaged!` (this module is re-exported
// there); `#[macro_export]` puts the macro at this crate's root, this keeps its old path.
pub use crate::sabotaged;

/// The test hooks active in this process, each as `VARIABLE=value` (empty: none). A
/// `DRYRUN_SABOTAGE` is listed only where it can act (the negative-control build).
pub fn active_hooks() -> Vec<String> {
    let mut hooks = Vec::new();
    if let Ok(v) = std::env::var("DRYRUN_FAULT") {
        if !parse(&v).is_empty() {
            hooks.push(format!("DRYRUN_FAULT={v}"));
        }
    }
    #[cfg(feature = "negative-controls")]
    if let Ok(v) = std::env::var("DRYRUN_SABOTAGE") {
        if !v.trim().is_empty() {
            hooks.push(format!("DRYRUN_SABOTAGE={v}"));
        }
    }
    hooks
}

/// The sentence every report prints when [`active_hooks`] is not empty.
pub fn hooks_sentence(hooks: &[String]) -> Option<String> {
    (!hooks.is_empty()).then(|| {
        format!(
            "Test hooks were active in this run ({}): its results are not evidence for any gate.",
            hooks.join("; ")
        )
    })
}

/// What to do at a point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Pause,
    Sleep(Duration),
    Panic,
    DiskFull,
    /// Send this API version in every Docker request path (`docker` point only).
    ApiVersion(String),
}

fn parse(spec: &str) -> Vec<(String, Action)> {
    spec.split(',')
        .filter_map(|item| {
            let (point, action) = item.trim().split_once('=')?;
            let action = match action.trim() {
                "pause" => Action::Pause,
                "panic" => Action::Panic,
                "disk_full" => Action::DiskFull,
                a if a.starts_with("api:") => {
                    let v = &a[4..];
                    let (major, minor) = v.split_once('.')?;
                    major.parse::<u16>().ok()?;
                    minor.parse::<u16>().ok()?;
                    Action::ApiVersion(v.to_string())
                }
                a => Action::Sleep(Duration::from_millis(
                    a.strip_prefix("sleep:")?.parse().ok()?,
                )),
            };
            Some((point.trim().to_string(), action))
        })
        .collect()
}

/// The action configured for `point`, if any.
pub fn action(point: &str) -> Option<Action> {
    let spec = std::env::var("DRYRUN_FAULT").ok()?;
    parse(&spec)
        .into_iter()
        .find(|(p, _)| p == point)
        .map(|(_, a)| a)
}

/// Reach a named point: pause, sleep or panic if `DRYRUN_FAULT` asks for it.
pub async fn hit(point: &str) {
    let Some(a) = action(point) else { return };
    eprintln!("dryrun-fault: reached {point}");
    match a {
        Action::Pause => tokio::time::sleep(Duration::from_secs(600)).await,
        Action::Sleep(d) => tokio::time::sleep(d).await,
        Action::Panic => panic!("injected panic at {point} (DRYRUN_FAULT)"),
        Action::DiskFull | Action::ApiVersion(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_points_and_actions() {
        let v = parse(
            "restore=pause, scenario=panic,upload=disk_full,image=sleep:250,bad,x=nope,docker=api:9.99,docker=api:x",
        );
        assert_eq!(
            v,
            vec![
                ("restore".to_string(), Action::Pause),
                ("scenario".to_string(), Action::Panic),
                ("upload".to_string(), Action::DiskFull),
                (
                    "image".to_string(),
                    Action::Sleep(Duration::from_millis(250))
                ),
                ("docker".to_string(), Action::ApiVersion("9.99".into())),
            ]
        );
    }
}
