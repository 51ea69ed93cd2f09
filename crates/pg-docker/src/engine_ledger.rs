//! The ledger of this process's mutating engine calls (create, start, stop, kill, remove,
//! volumes): every call site records what it names, so `engine_watch` can tell this run's doing.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// One engine call of this process that changes a container or volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineCall {
    /// `create`, `start`, `stop`, `kill`, `remove`, `create_volume`, `remove_volume`.
    pub action: String,
    /// The container (id or name) or volume name the call named.
    pub target: String,
}

static LEDGER: Mutex<Vec<EngineCall>> = Mutex::new(Vec::new());

/// Record an engine call this process makes (every mutating call site of the harness calls
/// this with the id or name it passes to the engine).
pub fn record_call(action: &str, target: &str) {
    if let Ok(mut l) = LEDGER.lock() {
        l.push(EngineCall {
            action: action.to_string(),
            target: target.to_string(),
        });
    }
}

/// Every engine call recorded so far by this process.
pub fn calls() -> Vec<EngineCall> {
    LEDGER.lock().map(|l| l.clone()).unwrap_or_default()
}
