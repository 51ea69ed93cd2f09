//! Cluster-global state of a PostgreSQL server (roles, memberships, per-role settings, tablespaces, slots, ALTER SYSTEM; `migrations/fingerprint/cluster.sql`) and its diff.
//! Owns the shared-server [`Watch`]: the state at the run's baseline, every clone scenario checked back to it, a leak named with the scenario that left it.
//!
//! # Why a watch, not a fingerprint row
//! Clone scenarios share one server, up to four at a time, each in its own database. A role
//! another scenario's deploy created a moment ago is visible from every database, so the
//! cluster-global state cannot be part of each clone's fingerprint without false reds. A
//! scenario on its own server (`environment: container`) has it in its fingerprint instead
//! ([`crate::fingerprint::SchemaFingerprint::cluster`]) and its `compare` steps name the object.
//!
//! # How the watch attributes a leak
//! Every clone scenario enters the watch at set-up and leaves it at teardown, after its
//! database is dropped. Both take a *sample* of the state, serialized with each other, so the
//! set of scenarios active between two consecutive samples is fixed: the sample records it.
//! The first sample of the run is the *reference* (no scenario has run yet).
//! * Leaving with the state equal to the reference: a clean check. Nothing any finished
//!   scenario did is left, so every scenario waiting for a verdict passes, and the samples
//!   start again from this one.
//! * Leaving with a difference while others still run: the difference may be a running
//!   scenario's (its deploy created a role its revert will drop). The scenario waits, and no
//!   new scenario enters the server meanwhile (drain), until the last active one leaves.
//! * The last one leaving with a difference (or finding the server drained): the difference is
//!   a leak. Each leaked row is attributed to the scenarios active in the interval in which it
//!   last took its leaked value (between the last sample not showing it and the first that
//!   does): one name when it can be narrowed to one, else every name of that interval. Each
//!   named scenario that is waiting fails, naming the object; the leaked rows then become part
//!   of the reference, so later scenarios are not blamed for them again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio_postgres::Client;

use crate::error::{Error, ErrorKind, Result};
use crate::fingerprint::{self, SchemaChange};

/// `migrations/fingerprint/cluster.sql`: one read-only query, `(object_kind, object_identity, definition)`.
pub const CLUSTER_SQL: &str = include_str!("../../../migrations/fingerprint/cluster.sql");

/// The cluster-global state: every row of `cluster.sql`, keyed by `(object_kind, object_identity)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterState {
    pub objects: BTreeMap<(String, String), String>,
}

impl ClusterState {
    pub fn len(&self) -> usize {
        self.objects.len()
    }
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
    /// Rows added, removed or changed from `self` (the base) to `other`, in key order; each
    /// displays as `+ role p0_app: superuser=false; …`.
    pub fn diff(&self, other: &ClusterState) -> Vec<SchemaChange> {
        fingerprint::diff_rows(&self.objects, &other.objects)
    }
}

/// The cluster-global state of the server `client` is connected to (any database; as a
/// superuser), in one read-only snapshot.
pub async fn take(client: &Client) -> Result<ClusterState> {
    fingerprint::in_read_only_snapshot(client, "", "cluster-global", async {
        let rows = client
            .query(CLUSTER_SQL, &[])
            .await
            .map_err(|e| fingerprint::db_error("cluster-global", e))?;
        let mut objects = BTreeMap::new();
        for row in rows {
            let get = |i: usize| -> Result<String> {
                let v: Option<String> = row
                    .try_get(i)
                    .map_err(|e| fingerprint::db_error("cluster-global", e))?;
                Ok(v.unwrap_or_default())
            };
            fingerprint::insert_unique(&mut objects, get(0)?, get(1)?, get(2)?);
        }
        Ok(ClusterState { objects })
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// The shared-server watch

/// One sample: the state, and the scenarios that were active at some time since the sample
/// before it (constant over that interval, see the module doc).
#[derive(Debug, Clone)]
struct Sample {
    state: ClusterState,
    ran: BTreeSet<String>,
}

#[derive(Debug, Default)]
struct Book {
    /// The state the shared server must be back to after each scenario.
    reference: Option<ClusterState>,
    /// Samples since the last clean check (the first one equals the reference).
    samples: Vec<Sample>,
    /// Scenarios on the server now: token -> name.
    active: BTreeMap<u64, String>,
    /// Scenarios that left the server outside a sample (a panic): counted in the next interval.
    left_unsampled: BTreeSet<String>,
    /// A difference is pending: no scenario enters until the server is drained and judged.
    draining: bool,
    /// Scenarios waiting for the verdict of the drained server: token -> name.
    waiting: BTreeMap<u64, String>,
    /// Verdicts for waiting scenarios: `None` passed, `Some(message)` failed.
    verdicts: BTreeMap<u64, Option<String>>,
    next_token: u64,
}

impl Book {
    /// Record a sample taken now: the active set is the one of the interval ending now.
    fn record(&mut self, state: ClusterState) {
        let mut ran: BTreeSet<String> = self.active.values().cloned().collect();
        ran.extend(std::mem::take(&mut self.left_unsampled));
        if self.reference.is_none() {
            self.reference = Some(state.clone());
        }
        self.samples.push(Sample { state, ran });
    }

    fn restart(&mut self, state: ClusterState) {
        self.draining = false;
        self.samples = vec![Sample {
            state,
            ran: BTreeSet::new(),
        }];
    }

    /// A clean check: every waiting scenario passes, the samples restart from `state`.
    fn clean(&mut self, state: ClusterState) {
        for t in std::mem::take(&mut self.waiting).into_keys() {
            self.verdicts.insert(t, None);
        }
        self.restart(state);
    }

    /// The server drained with `state` differing from the reference: attribute each leaked
    /// row, give every waiting scenario its verdict, take the leak into the reference.
    fn judge(&mut self, state: ClusterState) {
        let reference = self.reference.clone().unwrap_or_default();
        let mut blamed: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for change in reference.diff(&state) {
            let key = (change.object_kind.clone(), change.identity.clone());
            let suspects = suspects(&self.samples, &key, state.objects.get(&key));
            let who = attribution(&suspects);
            for s in &suspects {
                blamed
                    .entry(s.clone())
                    .or_default()
                    .push(format!("{change} ({who})"));
            }
        }
        for (t, name) in std::mem::take(&mut self.waiting) {
            let v = blamed.get(&name).map(|lines| leak_message(&name, lines));
            self.verdicts.insert(t, v);
        }
        self.reference = Some(state.clone());
        self.restart(state);
    }
}

/// `left by S08`, or every suspect when the interval held several.
fn attribution(suspects: &BTreeSet<String>) -> String {
    let names: Vec<&str> = suspects.iter().map(String::as_str).collect();
    match names.as_slice() {
        [one] => format!("left by {one}"),
        _ => format!(
            "left by one of {} (they ran on the server while it appeared)",
            names.join(", ")
        ),
    }
}

/// The failure of scenario `name` that left `lines` (diff lines with their attribution).
fn leak_message(name: &str, lines: &[String]) -> String {
    format!(
        "the shared server's cluster-global state is not back to the run's baseline after {name} \
         (checked once no other scenario ran on it): {} object(s) left behind:\n{}",
        lines.len(),
        lines.join("\n")
    )
}

/// The scenarios active in the interval in which `key` last took the value `leaked` (`None`:
/// absent): between the last sample showing another value and the first after it showing
/// `leaked`. Every name since the first sample when no such interval is found.
fn suspects(
    samples: &[Sample],
    key: &(String, String),
    leaked: Option<&String>,
) -> BTreeSet<String> {
    for i in (1..samples.len()).rev() {
        let before = samples[i - 1].state.objects.get(key);
        let after = samples[i].state.objects.get(key);
        if after == leaked && before != leaked {
            if !samples[i].ran.is_empty() {
                return samples[i].ran.clone();
            }
            break;
        }
    }
    samples.iter().flat_map(|s| s.ran.iter().cloned()).collect()
}

/// The cluster-global state of the shared server, checked after each scenario that ran on it
/// (module doc). One per suite.
#[derive(Debug, Default)]
pub struct Watch {
    /// Serializes samples with changes of the active set.
    sampler: tokio::sync::Mutex<()>,
    book: Mutex<Book>,
    /// Woken on every verdict and every end of a drain.
    changed: tokio::sync::Notify,
}

/// A scenario on the shared server; hand it back to [`Watch::leave`]. Dropped without that
/// (a panic, a failed teardown), it leaves the active set unsampled.
pub struct Entry<'w> {
    watch: &'w Watch,
    token: u64,
    name: String,
    done: bool,
}

impl Drop for Entry<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let Ok(mut b) = self.watch.book.lock() {
            b.active.remove(&self.token);
            b.left_unsampled.insert(self.name.clone());
        }
        self.watch.changed.notify_waiters();
    }
}

impl Watch {
    pub fn new() -> Watch {
        Watch::default()
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The reference state (the first sample), once a scenario has entered.
    pub fn reference(&self) -> Option<ClusterState> {
        self.book().reference.clone()
    }

    /// Scenario `name` starts on the shared server; `sample` takes the server's state (e.g.
    /// [`take`] on a new superuser connection). Waits while a difference is being judged.
    pub async fn enter<F, Fut>(&self, name: &str, sample: F) -> Result<Entry<'_>>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<ClusterState>>,
    {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let _g = self.sampler.lock().await;
                let draining = self.book().draining;
                if !draining {
                    let state = sample().await?;
                    let mut b = self.book();
                    b.record(state);
                    let token = b.next_token;
                    b.next_token += 1;
                    b.active.insert(token, name.to_string());
                    return Ok(Entry {
                        watch: self,
                        token,
                        name: name.to_string(),
                        done: false,
                    });
                }
            }
            notified.await;
        }
    }

    /// Scenario `entry` has finished on the shared server (its database dropped): `Ok` when
    /// the cluster-global state is back to the reference, or the difference is not its doing;
    /// an error naming each object it left (and who else may have) otherwise. `sample` as for
    /// [`Watch::enter`].
    pub async fn leave<F, Fut>(&self, mut entry: Entry<'_>, sample: F) -> Result<()>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<ClusterState>>,
    {
        let token = entry.token;
        {
            let _g = self.sampler.lock().await;
            let state = sample().await?;
            let mut b = self.book();
            b.record(state.clone());
            b.active.remove(&token);
            entry.done = true;
            b.waiting.insert(token, entry.name.clone());
            if b.reference.as_ref() == Some(&state) {
                b.clean(state);
            } else if b.active.is_empty() {
                b.judge(state);
            } else {
                b.draining = true;
            }
        }
        self.changed.notify_waiters();
        // The verdict: given above, or by the last scenario to leave, or (when that one left
        // outside a sample, e.g. by a panic) by the first waiter to find the server drained.
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let drained = {
                let mut b = self.book();
                if let Some(v) = b.verdicts.remove(&token) {
                    return verdict(v);
                }
                b.active.is_empty() && b.draining
            };
            if !drained {
                notified.await;
                continue;
            }
            let _g = self.sampler.lock().await;
            let state = sample().await?;
            let judged = {
                let mut b = self.book();
                let judge = b.draining && b.active.is_empty();
                if judge {
                    b.record(state.clone());
                    if b.reference.as_ref() == Some(&state) {
                        b.clean(state);
                    } else {
                        b.judge(state);
                    }
                }
                judge
            };
            if judged {
                self.changed.notify_waiters();
            }
        }
    }
}

fn verdict(v: Option<String>) -> Result<()> {
    match v {
        None => Ok(()),
        Some(m) => Err(Error::new(ErrorKind::ClusterStateLeak, m).with_hint(
            "A cluster-global object (role, membership, role setting, tablespace, slot, ALTER SYSTEM) outlives the scenario's database: the P0 revert must remove what its deploy created outside the database.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn state(rows: &[(&str, &str, &str)]) -> ClusterState {
        ClusterState {
            objects: rows
                .iter()
                .map(|(k, i, d)| ((k.to_string(), i.to_string()), d.to_string()))
                .collect(),
        }
    }

    const POSTGRES: (&str, &str, &str) = ("role", "postgres", "superuser=true");
    const LEAKED: (&str, &str, &str) = ("role", "p0_sabotage_role", "superuser=false");

    #[test]
    fn embedded_sql_covers_the_cluster_kinds() {
        for kind in [
            "'role'",
            "'role_membership'",
            "'role_setting'",
            "'tablespace'",
            "'replication_slot'",
            "'system_setting'",
        ] {
            assert!(CLUSTER_SQL.contains(kind), "{kind}");
        }
        // never a password hash, only whether one is set
        assert!(CLUSTER_SQL.contains("a.rolpassword IS NULL THEN 'none' ELSE 'set'"));
        assert_eq!(CLUSTER_SQL.matches("rolpassword").count(), 1);
        assert!(!CLUSTER_SQL.trim_end().ends_with(';'));
    }

    #[test]
    fn the_diff_names_the_object() {
        let base = state(&[POSTGRES]);
        let mut after = state(&[POSTGRES, LEAKED]);
        after.objects.insert(
            ("role_setting".into(), "for=postgres work_mem".into()),
            "8MB".into(),
        );
        let lines: Vec<String> = base.diff(&after).iter().map(|c| c.to_string()).collect();
        assert_eq!(
            lines,
            [
                "+ role p0_sabotage_role: superuser=false",
                "+ role_setting for=postgres work_mem: 8MB"
            ]
        );
        assert!(base.diff(&base).is_empty());
        let changed = state(&[("role", "postgres", "superuser=false")]);
        assert_eq!(
            base.diff(&changed)[0].to_string(),
            "~ role postgres: superuser=true -> superuser=false"
        );
    }

    /// A server whose state the test sets; `sample` reads it like `take` would.
    #[derive(Clone)]
    struct Fake(Arc<Mutex<ClusterState>>);

    impl Fake {
        fn new(s: ClusterState) -> Fake {
            Fake(Arc::new(Mutex::new(s)))
        }
        fn set(&self, s: ClusterState) {
            *self.0.lock().unwrap() = s;
        }
        fn sample(&self) -> impl std::future::Future<Output = Result<ClusterState>> {
            let s = self.0.lock().unwrap().clone();
            async move { Ok(s) }
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    /// `w.leave(entry)` on a task of its own (a scenario whose teardown waits for a verdict).
    fn leave_later(
        w: &'static Watch,
        entry: Entry<'static>,
        srv: &Fake,
    ) -> tokio::task::JoinHandle<std::result::Result<(), String>> {
        let srv = srv.clone();
        tokio::spawn(async move { w.leave(entry, || srv.sample()).await.map_err(|e| e.message) })
    }

    #[test]
    fn a_scenario_alone_that_leaves_a_role_is_named() {
        rt().block_on(async {
            let w = Watch::new();
            let srv = Fake::new(state(&[POSTGRES]));
            let e = w.enter("S08", || srv.sample()).await.unwrap();
            srv.set(state(&[POSTGRES, LEAKED]));
            let err = w.leave(e, || srv.sample()).await.unwrap_err();
            assert_eq!(err.kind, crate::error::ErrorKind::ClusterStateLeak);
            assert!(
                err.message
                    .contains("+ role p0_sabotage_role: superuser=false (left by S08)"),
                "{}",
                err.message
            );
            assert!(err.message.contains("after S08"), "{}", err.message);
            // The leak is now the reference: the next scenario is not blamed for it.
            let e = w.enter("S09", || srv.sample()).await.unwrap();
            w.leave(e, || srv.sample()).await.unwrap();
            assert_eq!(w.reference(), Some(state(&[POSTGRES, LEAKED])));
        });
    }

    #[test]
    fn a_transient_change_of_a_concurrent_scenario_is_no_leak() {
        rt().block_on(async {
            let w: &'static Watch = Box::leak(Box::new(Watch::new()));
            let srv = Fake::new(state(&[POSTGRES]));
            let a = w.enter("S07", || srv.sample()).await.unwrap();
            let b = w.enter("S08", || srv.sample()).await.unwrap();
            // S08's deploy created a role; S07 finishes meanwhile and sees it.
            srv.set(state(&[POSTGRES, LEAKED]));
            let (w2, srv2) = (w, srv.clone());
            let a_done = tokio::spawn(async move {
                let r = w2.leave(a, || srv2.sample()).await;
                r.map_err(|e| e.message)
            });
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            assert!(!a_done.is_finished(), "S07 waits for the server to drain");
            // A new scenario may not enter while the difference is judged.
            let (w3, srv3) = (w, srv.clone());
            let c = tokio::spawn(async move {
                let e = w3.enter("S10", || srv3.sample()).await.unwrap();
                w3.leave(e, || srv3.sample()).await.map_err(|e| e.message)
            });
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            assert!(!c.is_finished());
            // S08's revert drops the role again: nobody left anything.
            srv.set(state(&[POSTGRES]));
            w.leave(b, || srv.sample()).await.unwrap();
            a_done.await.unwrap().unwrap();
            c.await.unwrap().unwrap();
        });
    }

    #[test]
    fn a_leak_is_attributed_to_the_scenarios_running_when_it_appeared() {
        rt().block_on(async {
            let w: &'static Watch = Box::leak(Box::new(Watch::new()));
            let srv = Fake::new(state(&[POSTGRES]));
            let a = w.enter("S07", || srv.sample()).await.unwrap();
            let b = w.enter("S08", || srv.sample()).await.unwrap();
            srv.set(state(&[POSTGRES, LEAKED]));
            let a_done = leave_later(w, a, &srv);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let b_err = w.leave(b, || srv.sample()).await.unwrap_err().message;
            let a_err = a_done.await.unwrap().unwrap_err();
            // Both were on the server in the interval the role appeared in: both named.
            for m in [&a_err, &b_err] {
                assert!(
                    m.contains("+ role p0_sabotage_role: superuser=false (left by one of S07, S08"),
                    "{m}"
                );
            }
        });
    }

    #[test]
    fn a_scenario_that_started_after_the_leak_is_not_blamed() {
        rt().block_on(async {
            let w: &'static Watch = Box::leak(Box::new(Watch::new()));
            let srv = Fake::new(state(&[POSTGRES]));
            let a = w.enter("S08", || srv.sample()).await.unwrap();
            srv.set(state(&[POSTGRES, LEAKED]));
            // S10 enters after the role appeared (its set-up sample shows it), then S08 leaves
            // while S10 runs: S08 waits; S10 leaves last with the role still there.
            let b = w.enter("S10", || srv.sample()).await.unwrap();
            let a_done = leave_later(w, a, &srv);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            w.leave(b, || srv.sample()).await.unwrap();
            let m = a_done.await.unwrap().unwrap_err();
            assert!(m.contains("(left by S08)"), "{m}");
        });
    }

    #[test]
    fn an_entry_dropped_without_leaving_does_not_hang_the_waiters() {
        rt().block_on(async {
            let w: &'static Watch = Box::leak(Box::new(Watch::new()));
            let srv = Fake::new(state(&[POSTGRES]));
            let a = w.enter("S07", || srv.sample()).await.unwrap();
            let b = w.enter("S08", || srv.sample()).await.unwrap();
            srv.set(state(&[POSTGRES, LEAKED]));
            let a_done = leave_later(w, a, &srv);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            drop(b); // S08's teardown failed before leaving
            let m = tokio::time::timeout(std::time::Duration::from_secs(5), a_done)
                .await
                .expect("the waiter judges the drained server itself")
                .unwrap()
                .unwrap_err();
            assert!(m.contains("left by one of S07, S08"), "{m}");
        });
    }

    #[test]
    fn suspects_fall_back_to_every_name_since_the_last_clean_check() {
        let key = ("role".to_string(), "x".to_string());
        let v = "d".to_string();
        let sample = |present: bool, ran: &[&str]| Sample {
            state: if present {
                state(&[("role", "x", "d")])
            } else {
                ClusterState::default()
            },
            ran: ran.iter().map(|s| s.to_string()).collect(),
        };
        // appeared between samples 1 and 2, while S02 and S03 ran
        let samples = [
            sample(false, &[]),
            sample(false, &["S01"]),
            sample(true, &["S02", "S03"]),
            sample(true, &["S03"]),
        ];
        let got: Vec<String> = suspects(&samples, &key, Some(&v)).into_iter().collect();
        assert_eq!(got, ["S02", "S03"]);
        // no transition found (present from the first sample): everyone since then
        let samples = [
            sample(true, &[]),
            sample(true, &["S01"]),
            sample(true, &["S02"]),
        ];
        let got: Vec<String> = suspects(&samples, &key, Some(&v)).into_iter().collect();
        assert_eq!(got, ["S01", "S02"]);
    }
}
