//! Fault injection for the reliability tests: named points where `DRYRUN_FAULT` makes the
//! process pause, sleep or panic, or the upload run out of disk. Inert unless the variable is set.
//!
//! Syntax: `DRYRUN_FAULT=<point>=<action>[,<point>=<action>…]`, points `image`, `upload`,
//! `restore`, `scenario`, `docker`, actions `pause` (sleep 10 min), `sleep:<ms>`, `panic`,
//! `disk_full` (upload only: the dump goes to a 1 MiB volume) and `api:<major.minor>` (docker
//! only: every request path carries `/v<major.minor>`, as a bollard with issue #736 fixed
//! would send, so the start-up probe meets a real refusal). Reaching a point prints
//! `dryrun-fault: reached <point>` on stderr, so a test knows when to interrupt.

//!
//! Harness faults for the negative controls (`harness/tests/detection.rs`):
//! `DRYRUN_SABOTAGE=<name>[,<name>…]` weakens one check on purpose (see [`SABOTAGES`]), so a
//! test can prove the suite turns red. Inert unless set; when set, stderr says so.

use std::time::Duration;

/// The harness faults `DRYRUN_SABOTAGE` knows, each with what it breaks.
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
];

/// Whether the harness fault `name` is switched on by `DRYRUN_SABOTAGE`.
pub fn sabotaged(name: &str) -> bool {
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
