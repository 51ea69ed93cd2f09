//! One binary on the dry-run host: a copy of `dryrun` (as `cargo install` puts it), run from a
//! folder that is not a checkout, with nothing but a Docker engine, passes 26/26 and binds the
//! HB-05 line to the built-in plan and the bundled dump.

mod common;

use common::*;

#[test]
fn the_installed_binary_alone_passes_26_of_26_outside_the_checkout() {
    let t = tempfile::tempdir().expect("tmp");
    let bin_dir = t.path().join("bin");
    let work = t.path().join("work");
    let home = t.path().join("home");
    std::fs::create_dir_all(&bin_dir).expect("mkdir");
    std::fs::create_dir_all(&work).expect("mkdir");
    let installed = bin_dir.join("dryrun");
    std::fs::copy(bin(), &installed).expect("install the binary");
    assert!(
        !harness::checkout::is_checkout(&work)
            && work.ancestors().all(|d| !harness::checkout::is_checkout(d)),
        "the work folder must not be inside a checkout"
    );
    let out = std::process::Command::new(&installed)
        .args(["run"])
        .current_dir(&work)
        .env("DRYRUN_HOME", &home)
        .env_remove("P0_PLAN_DIR")
        .env_remove("DRYRUN_LOG")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run the installed dryrun");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(
        stdout.lines().last(),
        Some("26 passed, 0 failed"),
        "{stdout}"
    );
    // The report went to the current folder, not to the cache the suite was unpacked into.
    let md = std::fs::read_to_string(work.join("out/report/hb05-closure.md")).expect("report");
    assert!(
        md.contains("HB-05 passed 26/26 for plan built in (migrations/p0)"),
        "{}",
        md.lines().take(4).collect::<Vec<_>>().join("\n")
    );
    assert!(
        md.contains("scenarios: exactly the committed S01..S26"),
        "{md}"
    );
    let unpacked: Vec<_> = std::fs::read_dir(&home)
        .expect("the suite was unpacked under DRYRUN_HOME")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(unpacked.len(), 1, "{unpacked:?}");
    assert!(unpacked[0].starts_with("suite-"), "{unpacked:?}");
}
