//! Byte progress of the I/O modules (hashing, upload, restore, backup): indicators drawn on
//! stderr only when the CLI allows it and stderr is a terminal; the library never draws unasked.

use std::io::IsTerminal;
use std::time::Duration;

/// Whether byte progress may be drawn at all: off unless the CLI switches it on (not under
/// `-q`); the library and the test runner never draw it.
static PROGRESS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Allow (or forbid) the byte progress of hashing, upload, restore and backup; the `dryrun`
/// binary calls it with `!quiet`. Even allowed, it is drawn only on a terminal.
pub fn enable_progress(on: bool) {
    PROGRESS.store(on, std::sync::atomic::Ordering::Relaxed);
    // The uploads and hashing of `pg-docker` draw through the same bars (silent until set).
    pg_docker::byte_progress::set_byte_progress(std::sync::Arc::new(ByteBars));
}

/// Whether a byte progress indicator is drawn now: allowed, stderr is a terminal, and
/// `dryrun run`'s own bar is not up (its scenarios transfer in parallel).
fn bytes_visible() -> bool {
    PROGRESS.load(std::sync::atomic::Ordering::Relaxed)
        && std::io::stderr().is_terminal()
        && !crate::logging::has_progress_bar()
}

pub(crate) fn style(template: &str) -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template(template)
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// A byte counter for one transfer of known size (a file hashed, a dump streamed into a
/// container): drawn on stderr only when [`bytes_visible`]; cleared when done.
pub fn bytes_bar(what: &str, total: u64) -> indicatif::ProgressBar {
    if !bytes_visible() {
        return indicatif::ProgressBar::hidden();
    }
    drawn(
        indicatif::ProgressBar::new(total)
            .with_style(style(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            ))
            .with_message(what.to_string())
            .with_finish(indicatif::ProgressFinish::AndClear),
    )
}

/// The backup set's hashing progress (`backup_set::checksum::Progress`) drawn as a
/// [`bytes_bar`] per file, cleared when the file is done.
#[derive(Debug, Clone, Copy, Default)]
pub struct ByteBars;

struct Bar(indicatif::ProgressBar);

impl backup_set::checksum::Counter for Bar {
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

impl backup_set::checksum::Progress for ByteBars {
    fn start(&self, what: &str, total: u64) -> Box<dyn backup_set::checksum::Counter> {
        Box::new(Bar(bytes_bar(what, total)))
    }
}

/// The byte progress of `pg-docker` (a dump uploaded into a container, the image's wheel
/// hashed) drawn as the same [`bytes_bar`] per transfer.
impl pg_docker::byte_progress::ByteProgress for ByteBars {
    fn start(&self, what: &str, total: u64) -> Box<dyn backup_set::checksum::Counter + Send> {
        Box::new(Bar(bytes_bar(what, total)))
    }
}

/// A visible byte indicator: log lines are printed above it (`logging::suspend_bar`).
fn drawn(bar: indicatif::ProgressBar) -> indicatif::ProgressBar {
    crate::logging::set_bytes_bar(bar.clone());
    bar
}

/// A byte counter for a stream of unknown size (e.g. `pg_dump` writing a file), ticking on
/// its own; same visibility as [`bytes_bar`].
pub fn bytes_spinner(what: &str) -> indicatif::ProgressBar {
    if !bytes_visible() {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new_spinner()
        .with_style(style("{spinner} {msg}: {bytes} {bytes_per_sec} {elapsed}"))
        .with_message(what.to_string())
        .with_finish(indicatif::ProgressFinish::AndClear);
    b.enable_steady_tick(Duration::from_millis(200));
    drawn(b)
}

/// A step whose progress cannot be counted from outside (e.g. `pg_restore` reading a dump of
/// `bytes` bytes inside a container): the size and the time so far; same visibility.
pub fn busy(what: &str, bytes: u64) -> indicatif::ProgressBar {
    if !bytes_visible() {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new_spinner()
        .with_style(style("{spinner} {msg} ({prefix}) {elapsed}"))
        .with_message(what.to_string())
        .with_prefix(indicatif::HumanBytes(bytes).to_string())
        .with_finish(indicatif::ProgressFinish::AndClear);
    b.enable_steady_tick(Duration::from_millis(200));
    drawn(b)
}
