//! The console of `dryrun run`, shaped like nextest's: one `PASS [   3.1s] S07-p0-forward` line
//! per scenario as it finishes (stdout), the cause and diff of a failure at once, the summary and
//! the closing `N passed, M failed` line; a progress bar on stderr only when it is a terminal.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::hb05::model::{Attempt, ScenarioRow};

/// Something that wants to know how a run goes, scenario by scenario.
pub trait Progress: Send + Sync {
    /// The run knows its plan: `total` scenarios.
    fn planned(&self, total: usize);
    /// A scenario started.
    fn started(&self, id: &str);
    /// A scenario finished (its row is final).
    fn finished(&self, row: &ScenarioRow);
}

/// `PASS [   3.1s] S07-p0-forward`, then for a failure its `file:line: cause` and the diff,
/// indented.
pub fn scenario_lines(row: &ScenarioRow) -> String {
    let mut s = format!(
        "{} [{:>6.1}s] {}\n",
        if row.passed { "PASS" } else { "FAIL" },
        row.elapsed_ms as f64 / 1000.0,
        row.name
    );
    if let Some(f) = &row.failure {
        for l in f.lines() {
            s.push_str(&format!("    {l}\n"));
        }
    }
    if let Some(d) = &row.diff {
        for l in d.lines() {
            s.push_str(&format!("    {l}\n"));
        }
    }
    s
}

/// The summary after the run: failures again (where), the report, and the closing line
/// `N passed, M failed`, alone on the last line.
pub fn summary(a: &Attempt, report_dir: &std::path::Path) -> String {
    let failed: Vec<&ScenarioRow> = a.scenarios.iter().filter(|s| !s.passed).collect();
    let mut s = format!(
        "------------\n     Summary [{:>6.1}s] {} scenarios run (plan: {}): {} passed, {} failed\n",
        a.elapsed_ms as f64 / 1000.0,
        a.total,
        a.expected,
        a.passed,
        a.total.saturating_sub(a.passed)
    );
    for f in &failed {
        let where_ = f
            .failure
            .as_deref()
            .and_then(|t| t.lines().next())
            .unwrap_or("");
        s.push_str(&format!("        FAIL {}: {where_}\n", f.name));
    }
    for stop in &a.run_failures {
        s.push_str(&format!("        FAIL {stop}\n"));
    }
    if a.total != a.expected {
        s.push_str(&format!(
            "        {} of the {} planned scenarios did not report\n",
            a.expected.saturating_sub(a.total),
            a.expected
        ));
    }
    for c in a.foreign_changes.iter().filter(|c| !c.by_this_run) {
        s.push_str(&format!(
            "        note: outside this run, changed not by it: {}\n",
            c.line()
        ));
    }
    if let Some(h) = crate::fault::hooks_sentence(&a.test_hooks) {
        s.push_str(&format!("        No closure: {h}\n"));
    }
    s.push_str(&format!(
        "closure report: {}/hb05-closure.md (+ hb05-closure.json, hb05-junit.xml)\n",
        report_dir.display()
    ));
    s.push_str(&format!(
        "{} passed, {} failed\n",
        a.passed,
        a.expected.max(a.total).saturating_sub(a.passed)
    ));
    s
}

/// The terminal side of a run: lines on stdout, a bar on stderr (terminal only).
pub struct Console {
    bar: indicatif::ProgressBar,
    running: std::sync::Mutex<Vec<String>>,
}

impl Console {
    /// A console for `dryrun run`; the bar is drawn only when stderr is a terminal and not `quiet`.
    pub fn new(quiet: bool) -> Self {
        let bar = if !quiet && std::io::stderr().is_terminal() {
            let b = indicatif::ProgressBar::new(0);
            b.set_style(crate::progress::style(
                "{elapsed_precise} [{bar:30}] {pos}/{len} finished · {msg}",
            ));
            b.enable_steady_tick(Duration::from_millis(250));
            b
        } else {
            indicatif::ProgressBar::hidden()
        };
        crate::logging::set_progress_bar(Some(bar.clone()));
        Console {
            bar,
            running: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Print to stdout above the bar.
    pub fn print(&self, text: &str) {
        crate::logging::suspend_bar(|| {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        });
    }

    /// Remove the bar (before the summary).
    pub fn finish(&self) {
        self.bar.finish_and_clear();
        crate::logging::set_progress_bar(None);
    }

    /// Update the set of running scenarios shown on the bar.
    fn running(&self, f: impl FnOnce(&mut Vec<String>)) {
        if let Ok(mut r) = self.running.lock() {
            f(&mut r);
            self.bar.set_message(format!("running {}", r.join(" ")));
        }
    }
}

impl Progress for Console {
    fn planned(&self, total: usize) {
        self.bar.set_length(total as u64);
        self.bar.set_message("starting");
    }
    fn started(&self, id: &str) {
        self.running(|r| r.push(id.to_string()));
    }
    fn finished(&self, row: &ScenarioRow) {
        self.running(|r| r.retain(|s| *s != row.id));
        self.bar.inc(1);
        self.print(&scenario_lines(row));
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, passed: bool, failure: Option<&str>, diff: Option<&str>) -> ScenarioRow {
        ScenarioRow {
            id: name[..3].into(),
            name: name.into(),
            title: "t".into(),
            passed,
            failure: failure.map(String::from),
            diff: diff.map(String::from),
            strategy: "clone".into(),
            settings: vec![],
            elapsed_ms: 3140,
            scenario_sha256: String::new(),
            snapshot_sha256: None,
            evidence: vec![],
        }
    }

    #[test]
    fn pass_and_fail_lines_are_shaped_like_nextest() {
        assert_eq!(
            scenario_lines(&row("S07-p0-forward", true, None, None)),
            "PASS [   3.1s] S07-p0-forward\n"
        );
        let f = scenario_lines(&row(
            "S08-full-revert",
            false,
            Some("scenarios/S08-full-revert.yaml:10: left behind"),
            Some("-a\n+b"),
        ));
        assert_eq!(
            f,
            "FAIL [   3.1s] S08-full-revert\n    scenarios/S08-full-revert.yaml:10: left behind\n    -a\n    +b\n"
        );
    }
}
