//! What happened to the engine's containers outside a run while it ran: this process's own
//! record of every engine call that changes a container or volume (the ledger), the Docker
//! events of the containers that existed before the run, and the verdict on each change:
//! made by this run (a breach of the guard: fails the run) or not (a note for the signers).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::query_parameters::EventsOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::docker::ForeignContainer;

pub use crate::engine_ledger::{calls, record_call, EngineCall};

/// A Docker event of a container that existed before the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedEvent {
    pub id: String,
    /// RFC 3339 (UTC, seconds) from the event's own timestamp.
    pub time: String,
    /// `die`, `kill`, `stop`, `start`, `restart`, `destroy`, …, with the exit code when given.
    pub action: String,
}

/// One change to a container outside the run, with the events that made it and the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignChange {
    pub id: String,
    pub name: String,
    /// `removed`, `running -> exited`, or `restarted (state running)` when only events show it.
    pub change: String,
    pub events: Vec<ObservedEvent>,
    /// The ledger holds a call of this run naming the container.
    pub by_this_run: bool,
    /// Those calls, when any.
    pub calls: Vec<EngineCall>,
}

impl ForeignChange {
    /// One line for reports and the console.
    pub fn line(&self) -> String {
        let events = if self.events.is_empty() {
            "no event seen".to_string()
        } else {
            self.events
                .iter()
                .map(|e| format!("{} {}", e.time, e.action))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "{} ({}) {}, {}: events {events}",
            self.name,
            short(&self.id),
            self.change,
            if self.by_this_run {
                "BY THIS RUN"
            } else {
                "not by this run"
            }
        )
    }
}

/// Actions that change a container's life (exec, attach, health and copy events do not).
const LIFE: &[&str] = &[
    "start", "restart", "stop", "kill", "die", "destroy", "pause", "unpause", "oom", "rename",
    "update",
];

/// Streams the Docker events of the containers that existed before the run, from now until
/// [`ForeignWatch::finish`].
pub struct ForeignWatch {
    events: Arc<Mutex<Vec<ObservedEvent>>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl ForeignWatch {
    /// Start watching `before` (nothing to watch: no stream).
    pub fn start(docker: &Docker, before: &[ForeignContainer]) -> ForeignWatch {
        let events: Arc<Mutex<Vec<ObservedEvent>>> = Arc::default();
        if before.is_empty() {
            return ForeignWatch { events, task: None };
        }
        let mut filters: HashMap<&str, Vec<&str>> = HashMap::new();
        filters.insert("type", vec!["container"]);
        filters.insert("container", before.iter().map(|c| c.id.as_str()).collect());
        // From this instant (the engine takes fractional seconds), not the whole second.
        let now = chrono::Utc::now();
        let since = format!("{}.{:09}", now.timestamp(), now.timestamp_subsec_nanos());
        let opts = EventsOptionsBuilder::default()
            .since(&since)
            .filters(&filters)
            .build();
        let docker = docker.clone();
        let sink = events.clone();
        let task = tokio::spawn(async move {
            let mut stream = docker.events(Some(opts));
            while let Some(Ok(m)) = stream.next().await {
                let Some(action) = m.action else { continue };
                let base = action.split(':').next().unwrap_or("").trim().to_string();
                if !LIFE.contains(&base.as_str()) {
                    continue;
                }
                let actor = m.actor.unwrap_or_default();
                let attrs = actor.attributes.unwrap_or_default();
                let action = match attrs.get("exitCode") {
                    Some(code) => format!("{base} (exit code {code})"),
                    None => base,
                };
                let time = m
                    .time
                    .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                    .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                    .unwrap_or_default();
                if let Ok(mut e) = sink.lock() {
                    e.push(ObservedEvent {
                        id: actor.id.unwrap_or_default(),
                        time,
                        action,
                    });
                }
            }
        });
        ForeignWatch {
            events,
            task: Some(task),
        }
    }

    /// Stop watching (after a moment for the engine to deliver the last events) and return
    /// what was seen.
    pub async fn finish(mut self) -> Vec<ObservedEvent> {
        if let Some(t) = self.task.take() {
            tokio::time::sleep(Duration::from_millis(500)).await;
            t.abort();
        }
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl Drop for ForeignWatch {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// Every change to a container of `before`: gone, another state, or life events while the
/// state ended where it began (a restart); each judged against this run's `calls`.
pub fn judge(
    before: &[ForeignContainer],
    after: &[ForeignContainer],
    events: &[ObservedEvent],
    calls: &[EngineCall],
) -> Vec<ForeignChange> {
    before
        .iter()
        .filter_map(|b| {
            let evs: Vec<ObservedEvent> = events.iter().filter(|e| e.id == b.id).cloned().collect();
            let change = match after.iter().find(|a| a.id == b.id) {
                None => "removed".to_string(),
                Some(a) if a.state != b.state => format!("{} -> {}", b.state, a.state),
                Some(a) if !evs.is_empty() => format!("restarted (state {})", a.state),
                Some(_) => return None,
            };
            let mine: Vec<EngineCall> = calls
                .iter()
                .filter(|c| names(&c.target, b))
                .cloned()
                .collect();
            Some(ForeignChange {
                id: b.id.clone(),
                name: b.name.clone(),
                change,
                events: evs,
                by_this_run: !mine.is_empty(),
                calls: mine,
            })
        })
        .collect()
}

/// Whether an engine call's target names container `c` (full id, an id prefix of 12 or more,
/// or its name).
fn names(target: &str, c: &ForeignContainer) -> bool {
    let t = target.trim_start_matches('/');
    !t.is_empty() && (t == c.name || (t.len() >= 12 && c.id.starts_with(t)))
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, name: &str, state: &str) -> ForeignContainer {
        ForeignContainer {
            id: id.into(),
            name: name.into(),
            state: state.into(),
        }
    }

    fn ev(id: &str, action: &str) -> ObservedEvent {
        ObservedEvent {
            id: id.into(),
            time: "2026-12-04T15:00:00Z".into(),
            action: action.into(),
        }
    }

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "cccccccccccccccccccccccc";

    #[test]
    fn removed_restarted_and_untouched_containers_are_told_apart() {
        let before = vec![
            c(A, "na", "running"),
            c(B, "nb", "running"),
            c(C, "nc", "running"),
        ];
        let after = vec![c(B, "nb", "running"), c(C, "nc", "running")];
        let events = vec![
            ev(A, "kill"),
            ev(A, "destroy"),
            ev(B, "die (exit code 0)"),
            ev(B, "start"),
        ];
        let changes = judge(&before, &after, &events, &[]);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert_eq!(changes[0].change, "removed");
        assert_eq!(changes[0].events.len(), 2);
        assert!(!changes[0].by_this_run);
        assert_eq!(changes[1].change, "restarted (state running)");
        assert!(changes[1].line().contains("not by this run"));
        assert!(changes[1].line().contains("die (exit code 0)"));
    }

    #[test]
    fn a_change_the_ledger_names_is_this_runs_doing() {
        let before = vec![c(A, "na", "running"), c(B, "nb", "running")];
        let after = vec![c(A, "na", "exited")];
        let calls = vec![
            EngineCall {
                action: "kill".into(),
                target: A[..12].into(),
            },
            EngineCall {
                action: "remove".into(),
                target: "other".into(),
            },
            EngineCall {
                action: "remove".into(),
                target: "/nb".into(),
            },
        ];
        let changes = judge(&before, &after, &[], &calls);
        assert!(changes.iter().all(|c| c.by_this_run), "{changes:?}");
        assert_eq!(changes[0].calls.len(), 1);
        assert!(changes[0].line().contains("BY THIS RUN"));
        // A short prefix or an empty name never matches.
        assert!(!names("aaa", &before[0]));
        assert!(!names("", &c(A, "", "running")));
    }
}
