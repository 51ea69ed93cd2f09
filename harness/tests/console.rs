//! The console, the closure report and the CLI's hygiene through the real `dryrun` binary:
//! nextest-like lines off a terminal, progress only on one (a pty from util-linux `script`),
//! a short default stderr, snapshot diffs as results, the retry gate refusing an unreadable
//! report, usage errors exiting 2, a missing debootstrap.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

const LONG: Duration = Duration::from_secs(900);

/// A scratch checkout with only the named scenarios (and their snapshots), the migrations and
/// the fixtures.
fn scratch(names: &[&str]) -> tempfile::TempDir {
    let t = tempfile::tempdir().expect("tmp");
    let repo = repo();
    for d in ["scenarios", "snapshots"] {
        std::fs::create_dir_all(t.path().join(d)).expect("mkdir");
    }
    for n in names {
        std::fs::copy(
            repo.join("scenarios").join(format!("{n}.yaml")),
            t.path().join("scenarios").join(format!("{n}.yaml")),
        )
        .expect("copy scenario");
        std::fs::copy(
            repo.join("snapshots").join(format!("{n}.snap")),
            t.path().join("snapshots").join(format!("{n}.snap")),
        )
        .expect("copy snapshot");
    }
    copy_tree(&repo.join("migrations"), &t.path().join("migrations"));
    copy_tree(&repo.join("fixtures"), &t.path().join("fixtures"));
    t
}

fn no_escapes(what: &str, text: &str) {
    assert!(!text.contains('\u{1b}'), "escape codes in {what}:\n{text}");
}

/// `dryrun <args>` run to its end off a terminal, with `unset` removed from its environment:
/// its containers swept, no panic, the exit code `code`.
fn finished(args: &[&str], unset: &[&str], cwd: &Path, code: i32) -> Finished {
    let f = spawn_clean(args, &[], unset, cwd).finish(LONG);
    cleanup(f.pid);
    no_panic(&f);
    assert_eq!(
        f.code,
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        f.stdout,
        f.stderr
    );
    f
}

fn no_panic(f: &Finished) {
    assert!(
        !f.stderr.contains("panicked") && !f.stdout.contains("panicked"),
        "a panic:\n{}\n{}",
        f.stdout,
        f.stderr
    );
}

/// What `dryrun <args>` did on a pseudo-terminal (util-linux `script`): its exit code, the
/// raw transcript (stdout and stderr as the terminal got them) and its pid (for [`cleanup`]).
struct Tty {
    code: Option<i32>,
    transcript: String,
    pid: u32,
}

fn on_a_terminal(args: &[&str], cwd: &Path) -> Tty {
    let quoted: Vec<String> = std::iter::once(bin())
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    // The shell prints its pid, then becomes dryrun (same pid).
    let line = format!("echo dryrun-pid=$$; exec {}", quoted.join(" "));
    let out = std::process::Command::new("script")
        .args(["-q", "-e", "-f", "-c", &line, "/dev/null"])
        .current_dir(cwd)
        .env_remove("DRYRUN_LOG")
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .env_remove("DRYRUN_FAULT")
        .env_remove("DRYRUN_SABOTAGE")
        .env_remove("P0_PLAN_DIR")
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("util-linux `script` gives the binary a terminal");
    let transcript = String::from_utf8_lossy(&out.stdout).to_string();
    let pid = transcript
        .lines()
        .find_map(|l| l.trim().strip_prefix("dryrun-pid="))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no pid in the transcript:\n{transcript}"));
    Tty {
        code: out.status.code(),
        transcript,
        pid,
    }
}

/// The transcript as a terminal shows it, roughly: CSI sequences removed, split at `\r` and
/// `\n` into the pieces that were written as whole lines.
fn pieces(transcript: &str) -> Vec<String> {
    let csi = regex::Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]").expect("regex");
    csi.replace_all(transcript, "")
        .split(['\r', '\n'])
        .map(|p| p.trim_end().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

const CHEAP: [&str; 2] = ["S02-checksum-mismatch", "S20-canon-vectors"];

#[test]
fn run_from_a_subdirectory_prints_one_line_per_scenario_and_the_closing_line() {
    let t = scratch(&CHEAP);
    let cwd = t.path().join("migrations").join("p0");
    let f = finished(&["run"], &["DRYRUN_LOG", "RUST_LOG"], &cwd, 0);
    no_escapes("stdout", &f.stdout);
    no_escapes("stderr", &f.stderr);
    let lines: Vec<&str> = f.stdout.lines().collect();
    for n in CHEAP {
        let mine: Vec<&&str> = lines.iter().filter(|l| l.ends_with(n)).collect();
        assert_eq!(mine.len(), 1, "one line for {n}:\n{}", f.stdout);
        assert!(mine[0].starts_with("PASS ["), "{}", mine[0]);
    }
    assert_eq!(
        lines.last().copied(),
        Some("2 passed, 0 failed"),
        "{}",
        f.stdout
    );
    assert!(
        f.stderr.trim().is_empty(),
        "stderr of a green run:\n{}",
        f.stderr
    );
    // The report went to the checkout's out/report (found upward), with times in order.
    let json = std::fs::read_to_string(t.path().join("out/report/hb05-closure.json"))
        .expect("report in the checkout");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let a = &v["attempts"][0];
    let (s, e) = (
        a["started_utc"].as_str().unwrap_or(""),
        a["ended_utc"].as_str().unwrap_or(""),
    );
    assert!(!s.is_empty() && s <= e, "started {s} ended {e}");
    assert_eq!(a["expected"], 2);
    let md = std::fs::read_to_string(t.path().join("out/report/hb05-closure.md")).expect("md");
    // Two scenarios are not the committed S01..S26: a partial result, never the HB-05 line.
    assert!(md.contains("Partial result, not HB-05: 2/2 passed"), "{md}");
    assert!(!md.contains("HB-05 passed"), "{md}");
    assert!(md.contains("S01-verified-restore.yaml was not run"), "{md}");
    assert!(
        !cwd.join("out").exists(),
        "a report appeared in the subdirectory"
    );
}

#[test]
fn a_changed_snapshot_is_a_failed_result_with_its_diff_and_a_corrupt_report_is_refused() {
    let t = scratch(&CHEAP);
    let snap = t.path().join("snapshots/S20-canon-vectors.snap");
    let text = std::fs::read_to_string(&snap).expect("snap");
    assert!(text.contains("summary: \"15 passed, 0 failed\""), "{text}");
    std::fs::write(
        &snap,
        text.replace("\"15 passed, 0 failed\"", "\"14 passed, 0 failed\""),
    )
    .expect("write");
    let elsewhere = tempfile::tempdir().expect("tmp");
    let report = t.path().join("report");
    let repo_s = t.path().display().to_string();
    let report_s = report.display().to_string();
    let f = finished(
        &["run", "--repo", &repo_s, "--report", &report_s],
        &["DRYRUN_LOG", "RUST_LOG", "CI", "INSTA_UPDATE"],
        elsewhere.path(),
        1,
    );
    no_escapes("stdout", &f.stdout);
    assert!(
        !f.stdout.contains("Snapshot Summary") && !f.stdout.contains("Snapshot file:"),
        "insta's own output leaked:\n{}",
        f.stdout
    );
    let lines: Vec<&str> = f.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("FAIL [") && l.ends_with("S20-canon-vectors"))
        .unwrap_or_else(|| panic!("no FAIL line:\n{}", f.stdout));
    assert!(
        lines[at + 1]
            .trim_start()
            .starts_with("scenarios/S20-canon-vectors.yaml:"),
        "cause right under the FAIL line:\n{}",
        f.stdout
    );
    assert_eq!(
        lines.last().copied(),
        Some("1 passed, 1 failed"),
        "{}",
        f.stdout
    );
    // The stored snapshot says 14 (`-`), the observation 15 (`+`), on the console too.
    let minus = |s: &str| {
        s.lines()
            .any(|l| l.trim_start().starts_with('-') && l.contains("14 passed, 0 failed"))
    };
    let plus = |s: &str| {
        s.lines()
            .any(|l| l.trim_start().starts_with('+') && l.contains("15 passed, 0 failed"))
    };
    assert!(
        minus(&f.stdout) && plus(&f.stdout),
        "diff under the failure:\n{}",
        f.stdout
    );
    let md = std::fs::read_to_string(report.join("hb05-closure.md")).expect("md");
    assert!(md.contains("```diff") && minus(&md) && plus(&md), "{md}");
    let junit = std::fs::read_to_string(report.join("hb05-junit.xml")).expect("junit");
    assert!(minus(&junit) && plus(&junit), "{junit}");
    let json = std::fs::read_to_string(report.join("hb05-closure.json")).expect("json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let row = v["attempts"][0]["scenarios"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["id"] == "S20").cloned())
        .expect("S20 row");
    let diff = row["diff"].as_str().unwrap_or("");
    assert!(minus(diff) && plus(diff), "{row}");
    // Nothing was written next to the snapshots (no .snap.new).
    let names: Vec<String> = std::fs::read_dir(t.path().join("snapshots"))
        .expect("ls")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // A previous report that cannot be parsed: refused (exit 3), never started over.
    let json_path = report.join("hb05-closure.json");
    std::fs::write(&json_path, &json[..json.len() / 2]).expect("truncate");
    let before = std::fs::read(&json_path).expect("read");
    let g = finished(
        &[
            "run",
            "--repo",
            &repo_s,
            "--report",
            &report_s,
            "--retry-approved-by",
            "A. Approver",
        ],
        &["DRYRUN_LOG", "RUST_LOG"],
        elsewhere.path(),
        3,
    );
    assert!(g.stderr.contains("error[report_malformed]"), "{}", g.stderr);
    assert!(
        g.stderr.contains(&json_path.display().to_string()),
        "{}",
        g.stderr
    );
    assert!(g.stderr.contains("hint:"), "{}", g.stderr);
    assert_eq!(
        std::fs::read(&json_path).expect("read"),
        before,
        "the report was overwritten"
    );
    assert!(g.stdout.trim().is_empty(), "{}", g.stdout);
}

#[test]
fn a_full_green_run_has_one_line_per_scenario_and_a_short_stderr_without_notices() {
    let t = tempfile::tempdir().expect("tmp");
    let report = t.path().join("report");
    let report_s = report.display().to_string();
    let f = finished(
        &["run", "--report", &report_s],
        &["DRYRUN_LOG", "RUST_LOG"],
        &repo(),
        0,
    );
    no_escapes("stdout", &f.stdout);
    no_escapes("stderr", &f.stderr);
    let n = std::fs::read_dir(repo().join("scenarios"))
        .expect("ls")
        .count();
    let results: Vec<&str> = f
        .stdout
        .lines()
        .filter(|l| l.starts_with("PASS [") || l.starts_with("FAIL ["))
        .collect();
    assert_eq!(results.len(), n, "one line per scenario:\n{}", f.stdout);
    assert!(
        results.iter().all(|l| l.starts_with("PASS [")),
        "{}",
        f.stdout
    );
    assert_eq!(
        f.stdout.lines().last(),
        Some(format!("{n} passed, 0 failed").as_str()),
        "{}",
        f.stdout
    );
    let err_lines = f.stderr.lines().count();
    assert!(
        err_lines <= 2,
        "default stderr of a green run has {err_lines} lines:\n{}",
        f.stderr
    );
    assert!(!f.stderr.contains("NOTICE"), "{}", f.stderr);
    eprintln!(
        "default stderr of a green run: {err_lines} lines; stdout {} lines",
        f.stdout.lines().count()
    );
}

#[test]
fn usage_errors_exit_2_and_every_subcommand_has_an_example() {
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("unit.md");
    std::fs::write(&file, "# x\n").expect("write");
    let file_s = file.display().to_string();
    for args in [
        vec!["canon"],
        vec!["canon", &file_s, "--vectors", &file_s],
        vec!["canon", "--vectors", &file_s, "--json"],
        vec!["run", "--parallel", "2"],
        vec!["run", "-q", "-v"],
        vec!["no-such-command"],
    ] {
        let f = run(&args, &[], tmp.path(), Duration::from_secs(60));
        no_panic(&f);
        assert_eq!(f.code, Some(2), "{args:?}: {}", f.stderr);
        assert!(f.stdout.is_empty(), "{args:?}: {}", f.stdout);
    }
    for sub in [
        "image",
        "backup",
        "restore-test",
        "fixture",
        "run",
        "canon",
        "gc",
        "env",
        "env up",
        "env ls",
        "env down",
    ] {
        let mut args: Vec<&str> = sub.split(' ').collect();
        args.push("--help");
        let f = run(&args, &[], tmp.path(), Duration::from_secs(60));
        assert_eq!(f.code, Some(0), "{sub}: {}", f.stderr);
        assert!(
            f.stdout.contains("Example"),
            "{sub} --help has no example:\n{}",
            f.stdout
        );
    }
    for sub in [
        "image",
        "backup",
        "restore-test",
        "fixture",
        "run",
        "canon",
        "gc",
        "env",
        "env up",
        "env ls",
        "env down",
    ] {
        // Every option has help text: beside it, or on the next, more indented line.
        let mut args: Vec<&str> = sub.split(' ').collect();
        args.push("-h");
        let f = run(&args, &[], tmp.path(), Duration::from_secs(60));
        assert_eq!(f.code, Some(0), "{sub}: {}", f.stderr);
        // The options block ends where the examples start.
        let lines: Vec<&str> = f
            .stdout
            .lines()
            .take_while(|l| !l.starts_with("Example"))
            .collect();
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start();
            if !t.starts_with('-') {
                continue;
            }
            let beside = t.split("  ").filter(|p| !p.trim().is_empty()).count() >= 2;
            let indent = l.len() - t.len();
            let below = lines.get(i + 1).is_some_and(|n| {
                let nt = n.trim_start();
                !nt.is_empty() && !nt.starts_with('-') && n.len() - nt.len() > indent
            });
            assert!(
                beside || below,
                "{sub}: option without help: {l}\n{}",
                f.stdout
            );
        }
    }
    // Nothing was written by the refusals or --help.
    assert_eq!(std::fs::read_dir(tmp.path()).expect("ls").count(), 1);
}

#[test]
fn restore_test_and_env_up_show_byte_progress_on_a_terminal_and_nothing_of_it_elsewhere() {
    let repo = repo();
    let args = [
        "restore-test",
        "--dump",
        "fixtures/directus_full_fixture.dump",
        "--sums",
        "fixtures/SHA256SUMS",
    ];
    // Off a terminal: the report on stdout, nothing on stderr, no escape codes, no `\r`.
    let f = finished(&args, &["DRYRUN_LOG", "RUST_LOG"], &repo, 0);
    no_escapes("stdout", &f.stdout);
    no_escapes("stderr", &f.stderr);
    assert!(!f.stdout.contains('\r') && !f.stderr.contains('\r'));
    assert!(
        f.stderr.trim().is_empty(),
        "stderr off a terminal:\n{}",
        f.stderr
    );
    assert!(f.stdout.contains("## Smoke test"), "{}", f.stdout);

    // On a terminal: hashing, upload and restore, each with its bytes.
    let size = indicatif::HumanBytes(
        std::fs::metadata(repo.join("fixtures/directus_full_fixture.dump"))
            .expect("the fixture dump")
            .len(),
    )
    .to_string();
    let size = size.as_str();
    let t = on_a_terminal(&args, &repo);
    cleanup(t.pid);
    assert_eq!(t.code, Some(0), "{}", t.transcript);
    assert!(!t.transcript.contains("panicked"), "{}", t.transcript);
    let p = pieces(&t.transcript);
    let has = |start: &str, with: &str| p.iter().any(|l| l.starts_with(start) && l.contains(with));
    assert!(
        has("sha256 directus_full_fixture.dump [", &format!("/{size}")),
        "no hashing progress:\n{}",
        p.join("\n")
    );
    assert!(
        has("upload restore.dump [", &format!("/{size}")),
        "no upload progress:\n{}",
        p.join("\n")
    );
    assert!(
        p.iter().any(|l| l.contains(&format!(
            "pg_restore -j 2 directus_full_fixture.dump ({size})"
        ))),
        "no restore progress:\n{}",
        p.join("\n")
    );
    // The bars are cleared: the report's lines arrive whole.
    assert!(p.iter().any(|l| l == "## Smoke test"), "{}", p.join("\n"));

    // `env up` on a terminal: the same progress, then the environment (removed again).
    let name = format!("console-progress-{}", std::process::id());
    struct Down(String);
    impl Drop for Down {
        fn drop(&mut self) {
            let f = run(
                &["env", "down", &self.0],
                &[],
                &common::repo(),
                Duration::from_secs(300),
            );
            assert!(
                f.code == Some(0) || std::thread::panicking(),
                "{}",
                f.stderr
            );
        }
    }
    let down = Down(name.clone());
    let mut up: Vec<&str> = vec!["env", "up"];
    up.extend_from_slice(&args[1..]);
    up.extend_from_slice(&["--name", &name]);
    let t = on_a_terminal(&up, &repo);
    assert_eq!(t.code, Some(0), "{}", t.transcript);
    let p = pieces(&t.transcript);
    for start in [
        "sha256 directus_full_fixture.dump [",
        "upload restore.dump [",
    ] {
        assert!(
            p.iter().any(|l| l.starts_with(start) && l.contains(size)),
            "env up: no {start}:\n{}",
            p.join("\n")
        );
    }
    assert!(
        p.iter().any(|l| l == &format!("environment {name} is up")),
        "{}",
        p.join("\n")
    );
    drop(down);
}

#[test]
fn run_on_a_terminal_draws_a_bar_that_never_tears_the_result_lines() {
    let t = scratch(&CHEAP);
    let r = on_a_terminal(&["run"], t.path());
    cleanup(r.pid);
    assert_eq!(r.code, Some(0), "{}", r.transcript);
    let p = pieces(&r.transcript);
    // The bar was drawn (running/finished scenarios) ...
    assert!(
        p.iter().any(|l| l.contains("/2 finished")),
        "no progress bar:\n{}",
        p.join("\n")
    );
    // ... and every result line, and the closing line, arrived whole on a line of its own.
    let line = regex::Regex::new(r"^PASS \[ *[0-9]+\.[0-9]s\] (\S+)$").expect("regex");
    for n in CHEAP {
        assert!(
            p.iter()
                .any(|l| line.captures(l).is_some_and(|c| &c[1] == n)),
            "no whole PASS line for {n}:\n{}",
            p.join("\n")
        );
    }
    assert!(
        p.iter().any(|l| l == "2 passed, 0 failed"),
        "{}",
        p.join("\n")
    );
}

/// `dryrun image --force` with debootstrap hidden: in a private mount namespace (util-linux
/// `unshare -m`, root) its program is covered by `/dev/null` and `PATH` lacks it. As root
/// without apt-get, and as an unprivileged user with apt-get, the image step refuses with one
/// paragraph saying what to run (exit 4), builds nothing and never panics. (Root with apt-get
/// installs it: `image::tests`, which does not reach the network.)
#[test]
fn a_missing_debootstrap_is_one_paragraph_saying_what_to_run() {
    let cache = tempfile::tempdir().expect("tmp");
    let empty = tempfile::tempdir().expect("tmp");
    let with_apt = tempfile::tempdir().expect("tmp");
    std::os::unix::fs::symlink("/usr/bin/apt-get", with_apt.path().join("apt-get"))
        .expect("symlink");
    for d in [cache.path(), empty.path(), with_apt.path()] {
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .expect("chmod");
    }
    let docker_gid = std::os::unix::fs::MetadataExt::gid(
        &std::fs::metadata("/var/run/docker.sock").expect("the Docker socket"),
    );
    let installed = std::fs::metadata("/usr/sbin/debootstrap").is_ok_and(|m| m.is_file());
    let hide = "for p in /usr/sbin/debootstrap /sbin/debootstrap /usr/bin/debootstrap /bin/debootstrap; do [ -f \"$p\" ] && mount --bind /dev/null \"$p\"; done";
    let cache_s = cache.path().join("image").display().to_string();
    let cases = [
        (
            format!("exec env PATH={} {} image --force --cache {cache_s}", empty.path().display(), bin()),
            "there is no apt-get to install it with",
        ),
        (
            format!(
                "exec setpriv --reuid 65534 --regid 65534 --groups {docker_gid} env PATH={} {} image --force --cache {cache_s}",
                with_apt.path().display(),
                bin()
            ),
            "sudo apt-get update && sudo apt-get install -y debootstrap",
        ),
    ];
    for (tail, says) in cases {
        let out = std::process::Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c"])
            .arg(format!("{hide}; {tail}"))
            .env_remove("PG_IMAGE")
            .env_remove("DRYRUN_LOG")
            .env_remove("RUST_LOG")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("util-linux unshare (root) for a private mount namespace");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(
            out.status.code(),
            Some(4),
            "{tail}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stdout.trim().is_empty(), "{stdout}");
        assert!(stderr.starts_with("error[tool_missing]: "), "{stderr}");
        // One paragraph (the message) and its hint, nothing else.
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{stderr}");
        assert!(lines[1].starts_with("  hint: "), "{stderr}");
        assert!(lines[0].contains("needs debootstrap"), "{stderr}");
        assert!(lines[0].contains(says), "{stderr}");
        assert!(lines[0].contains("PG_IMAGE"), "{stderr}");
        let built: Vec<_> = std::fs::read_dir(cache.path().join("image"))
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(built.is_empty(), "the image step wrote {built:?}");
    }
    // The namespace was private: debootstrap is still where it was for everyone else.
    assert_eq!(
        std::fs::metadata("/usr/sbin/debootstrap").is_ok_and(|m| m.is_file()),
        installed
    );
}

/// `dryrun backup` on a terminal: the bytes each `pg_dump` has written and the hashing of the
/// files; the listing on stdout arrives whole.
#[test]
fn backup_shows_the_bytes_of_each_pg_dump_on_a_terminal() {
    let src = common::source_db::SourceDb::start();
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("set");
    let out_s = out.display().to_string();
    let t = on_a_terminal(
        &["backup", "--source-container", &src.name, "--out", &out_s],
        tmp.path(),
    );
    cleanup(t.pid);
    src.remove();
    assert_eq!(t.code, Some(0), "{}", t.transcript);
    let p = pieces(&t.transcript);
    let dump =
        regex::Regex::new(r"pg_dump → directus_full_\S+\.dump: [0-9.]+ [KMG]?i?B").expect("regex");
    assert!(
        p.iter().any(|l| dump.is_match(l)),
        "no pg_dump progress:\n{}",
        p.join("\n")
    );
    assert!(
        p.iter().any(|l| l.starts_with("sha256 directus_full_")),
        "no hashing progress:\n{}",
        p.join("\n")
    );
    // The listing (`<sha256>  <path> (<n> bytes)`) arrives whole, one line per file.
    let listed = regex::Regex::new(r"^[0-9a-f]{64}  \S+ \([0-9]+ bytes\)$").expect("regex");
    let files = std::fs::read_dir(&out).expect("the backup set").count();
    assert_eq!(
        p.iter().filter(|l| listed.is_match(l)).count(),
        files - 1,
        "{}",
        p.join("\n")
    );
}
