//! Log set-up shared by the CLI and the test runner: `tracing` to stderr with the user's
//! filter (`-q`/`-v`/`-vv`, `DRYRUN_LOG`, `RUST_LOG`), colour only on a terminal without
//! `NO_COLOR`, lines printed above the progress bar instead of through it, and the Docker
//! client never at debug level (its request bodies carry container environments, passwords
//! included).

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Targets whose debug output would print secrets; capped at `info` whatever the filter says.
const CAPPED: [&str; 4] = ["bollard", "hyper", "hyper_util", "testcontainers"];

/// The default: only what a person should act on.
pub const DEFAULT_FILTER: &str = "warn";

/// The user's filter (RUST_LOG syntax; `info` if it does not parse) with the caps applied.
pub fn filter(user: &str) -> EnvFilter {
    let kept: Vec<&str> = user
        .split(',')
        .map(str::trim)
        .filter(|d| !CAPPED.iter().any(|c| d.starts_with(c)))
        .collect();
    let mut f = EnvFilter::try_new(kept.join(",")).unwrap_or_else(|_| EnvFilter::new("info"));
    for c in CAPPED {
        if let Ok(d) = format!("{c}=info").parse() {
            f = f.add_directive(d);
        }
    }
    f
}

/// Which filter applies: `-q`/`-v` on the command line win, then an explicit filter
/// (`--log` or `DRYRUN_LOG`), then `RUST_LOG`, then [`DEFAULT_FILTER`].
pub fn choose(quiet: bool, verbose: u8, explicit: Option<&str>, rust_log: Option<&str>) -> String {
    let nonempty = |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(String::from);
    if quiet {
        return "error".into();
    }
    match verbose {
        0 => {}
        1 => return "info".into(),
        _ => return "debug".into(),
    }
    nonempty(explicit)
        .or_else(|| nonempty(rust_log))
        .unwrap_or_else(|| DEFAULT_FILTER.into())
}

/// Colour on stderr: only on a terminal, and never when `NO_COLOR` is set (to anything non-empty).
pub fn ansi(no_color: Option<&str>, is_terminal: bool) -> bool {
    is_terminal && no_color.is_none_or(str::is_empty)
}

/// The progress bar currently drawn on stderr, if any: log lines are printed above it.
static BAR: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);

/// Register (or, with `None`, forget) the progress bar that log lines must not tear.
pub fn set_progress_bar(bar: Option<indicatif::ProgressBar>) {
    if let Ok(mut b) = BAR.lock() {
        *b = bar;
    }
}

/// Whether a progress bar is registered (e.g. `dryrun run`'s).
pub fn has_progress_bar() -> bool {
    BAR.lock().map(|b| b.is_some()).unwrap_or(false)
}

/// The byte progress indicator currently drawn (hashing, upload, restore, backup), if any:
/// shown only while `BAR` is not, and log lines are printed above it too.
static BYTES_BAR: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);

/// Register the byte progress indicator being drawn (replacing the previous one).
pub fn set_bytes_bar(bar: indicatif::ProgressBar) {
    if let Ok(mut b) = BYTES_BAR.lock() {
        *b = Some(bar);
    }
}

/// Run `f` (which prints) with the progress bar, if any, cleared meanwhile and redrawn after.
pub fn suspend_bar<R>(f: impl FnOnce() -> R) -> R {
    let bar = BAR
        .lock()
        .ok()
        .and_then(|b| b.clone())
        .or_else(|| BYTES_BAR.lock().ok().and_then(|b| b.clone()));
    match bar {
        Some(b) if !b.is_hidden() && !b.is_finished() => b.suspend(f),
        _ => f(),
    }
}

/// One log event, buffered and written in one go with the bar suspended.
pub struct LineWriter(Vec<u8>);

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let buf = std::mem::take(&mut self.0);
        suspend_bar(|| {
            let _ = std::io::stderr().lock().write_all(&buf);
        });
    }
}

struct StderrAboveBar;

impl<'a> MakeWriter<'a> for StderrAboveBar {
    type Writer = LineWriter;
    fn make_writer(&'a self) -> Self::Writer {
        LineWriter(Vec::new())
    }
}

/// Install the stderr subscriber (once per process; later calls do nothing). Colour follows
/// the stream (a terminal) and `NO_COLOR`.
pub fn init(user: &str) {
    let ansi = ansi(
        std::env::var("NO_COLOR").ok().as_deref(),
        std::io::stderr().is_terminal(),
    );
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(user))
        .with_ansi(ansi)
        .with_writer(StderrAboveBar)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_client_is_capped_even_when_asked_for_trace() {
        let f = filter("trace,bollard=trace").to_string();
        assert!(f.contains("bollard=info"), "{f}");
        assert!(!f.contains("bollard=trace"), "{f}");
        assert!(f.contains("trace"), "{f}");
    }

    #[test]
    fn flags_beat_dryrun_log_which_beats_rust_log() {
        assert_eq!(choose(false, 0, None, None), "warn");
        assert_eq!(
            choose(false, 0, None, Some("harness=debug")),
            "harness=debug"
        );
        assert_eq!(choose(false, 0, Some("info"), Some("debug")), "info");
        assert_eq!(choose(false, 0, Some(" "), Some("debug")), "debug");
        assert_eq!(choose(false, 1, Some("error"), None), "info");
        assert_eq!(choose(false, 2, None, None), "debug");
        assert_eq!(choose(true, 0, Some("debug"), None), "error");
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(ansi(None, true));
        assert!(ansi(Some(""), true));
        assert!(!ansi(Some("1"), true));
        assert!(!ansi(None, false));
    }
}
