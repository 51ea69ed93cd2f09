//! The state of S19's concurrent writers while they run (started by `writers_start`, judged
//! by `writers_stop` in `steps::writers`): what the scenario context holds for them.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use crate::scenario::model::WindowPhase;

/// The writers running: their stop flag, what they committed, the tables they write to and
/// the deploy/revert windows recorded while they ran.
pub(crate) struct Writers {
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) count: usize,
    pub(crate) log: Arc<Mutex<Vec<Write>>>,
    pub(crate) errors: Arc<Mutex<Vec<String>>>,
    pub(crate) handles: Vec<tokio::task::JoinHandle<()>>,
    pub(crate) targets: Arc<Vec<Target>>,
    pub(crate) windows: Vec<Window>,
}

/// One committed write: its writer, table, key (the unique columns it set), the row's hash
/// as committed and the server clock at the commit's statement.
#[derive(Debug, Clone)]
pub(crate) struct Write {
    pub(crate) writer: usize,
    pub(crate) table: usize,
    pub(crate) key: String,
    pub(crate) row_md5: String,
    pub(crate) at_us: i64,
}

/// A table the writers write to: its name and the columns a write sets to fresh values.
#[derive(Debug)]
pub(crate) struct Target {
    /// `schema.table` as the plan names it.
    pub(crate) name: String,
    /// The same, quoted for SQL.
    pub(crate) sql_name: String,
    /// Columns of a unique index (or the primary key) with their type's family.
    pub(crate) unique: Vec<(String, Fresh)>,
    /// Base of the numeric fresh values (above every value the table holds).
    pub(crate) base: i64,
}

/// How a fresh value of a unique column is made.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fresh {
    Number,
    Text,
    Uuid,
}

/// A deploy or revert as the writers saw it: its start and end on the server's clock.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    pub(crate) phase: WindowPhase,
    pub(crate) start_us: i64,
    pub(crate) end_us: i64,
}
