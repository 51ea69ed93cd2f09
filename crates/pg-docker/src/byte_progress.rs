//! The byte progress of this crate's transfers (a dump streamed into a container, the image's
//! wheel hashed): a seam the harness connects to its terminal bars; silent until it does.

use std::sync::{Arc, RwLock};

pub use backup_set::checksum::Counter;

/// Who draws byte progress: told when a transfer of `total` bytes starts (`what` names it),
/// it gives a counter for it, which is dropped when the transfer is done or failed.
pub trait ByteProgress: Send + Sync {
    fn start(&self, what: &str, total: u64) -> Box<dyn Counter + Send>;
}

/// The progress installed by [`set_byte_progress`]; none: nothing is drawn.
static INSTALLED: RwLock<Option<Arc<dyn ByteProgress>>> = RwLock::new(None);

/// Install the byte progress of this process (the harness's terminal bars).
pub fn set_byte_progress(p: Arc<dyn ByteProgress>) {
    if let Ok(mut slot) = INSTALLED.write() {
        *slot = Some(p);
    }
}

struct Silent;

impl Counter for Silent {
    fn advance(&self, _bytes: u64) {}
}

/// A counter for one transfer of `total` bytes, from the installed progress (or silent).
pub(crate) fn bytes(what: &str, total: u64) -> Box<dyn Counter + Send> {
    let installed = INSTALLED.read().ok().and_then(|p| p.clone());
    match installed {
        Some(p) => p.start(what, total),
        None => Box::new(Silent),
    }
}

/// The installed progress as the backup set's hashing progress (`backup_set::checksum`).
pub(crate) struct Hashing;

impl backup_set::checksum::Progress for Hashing {
    fn start(&self, what: &str, total: u64) -> Box<dyn Counter> {
        bytes(what, total)
    }
}
