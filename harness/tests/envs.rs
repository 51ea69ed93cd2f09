//! Persistent dry-run environments and the sweep's safety, with the real `dryrun` binary and
//! real containers: `env up|ls|down`, `run --env` (26/26, baseline fingerprint unchanged), a
//! `--keep` container and a live run that no sweep and no `gc` form removes.

mod common;

use std::time::Duration;

use common::*;
use sha2::Digest;

const T: Duration = Duration::from_secs(600);

/// One test at a time: each runs `dryrun gc --all`, which removes a kept container of another
/// test whose command has exited (as it should).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes what a pid left (a kept container), also on failure.
struct PidGuard(u32);

impl Drop for PidGuard {
    fn drop(&mut self) {
        cleanup(self.0);
    }
}

fn container_exists(name: &str) -> bool {
    !docker_lines(&[
        "ps",
        "-a",
        "--filter",
        &format!("name=^{name}$"),
        "--format",
        "{{.Names}} {{.State}}",
    ])
    .is_empty()
}

fn volume_exists(name: &str) -> bool {
    docker_lines(&["volume", "ls", "--format", "{{.Name}}"])
        .iter()
        .any(|v| v == name)
}

fn password_of(container: &str) -> String {
    docker_lines(&[
        "inspect",
        "--format",
        "{{range .Config.Env}}{{println .}}{{end}}",
        container,
    ])
    .into_iter()
    .find_map(|l| l.strip_prefix("POSTGRES_PASSWORD=").map(str::to_string))
    .expect("the environment's container has a password")
}

fn fixture_dump_digest() -> String {
    let sums = std::fs::read_to_string(repo().join("fixtures/SHA256SUMS")).expect("SHA256SUMS");
    sums.lines()
        .find(|l| l.ends_with("directus_full_fixture.dump"))
        .and_then(|l| l.split_whitespace().next())
        .expect("dump line")
        .to_string()
}

fn env_up_args(name: &str) -> Vec<String> {
    let mut v: Vec<String> = vec!["env".into(), "up".into()];
    v.extend(FIXTURE_ARGS[1..].iter().map(|s| s.to_string()));
    v.push("--name".into());
    v.push(name.into());
    v
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn environment_survives_other_runs_and_gc_runs_the_suite_and_goes_down() {
    let _serial = serial();
    let name = format!(
        "pg-dry-run-hb05-test-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..6]
    );
    let _guard = EnvGuard(name.clone());
    let volume = format!("{name}-data");

    // env up: the verified restore test, kept as a named environment.
    let up = run(&strs(&env_up_args(&name)), &[], &repo(), T);
    assert_eq!(up.code, Some(0), "env up:\n{}\n{}", up.stdout, up.stderr);
    assert!(container_exists(&name) && volume_exists(&volume));
    assert!(
        up.stdout.contains("## Persistent environment")
            && up.stdout.contains(&format!("dryrun env down {name}")),
        "{}",
        up.stdout
    );
    let password = password_of(&name);
    assert!(password.len() >= 16);

    // env ls: name, image, short digest, created, state, how to connect; never the password.
    let ls = run(&["env", "ls"], &[], &repo(), T);
    assert_eq!(ls.code, Some(0), "{}", ls.stderr);
    let block: String = ls
        .stdout
        .split(&format!("{name}\n"))
        .nth(1)
        .unwrap_or_default()
        .lines()
        .take(2)
        .collect::<Vec<_>>()
        .join("\n");
    let digest = fixture_dump_digest();
    for want in [
        "image dot-iu-cutter/postgres:16".to_string(),
        format!("dump {} (directus_full_fixture.dump)", &digest[..12]),
        "running".to_string(),
        format!("docker exec -it {name} psql -U directus -d directus"),
    ] {
        assert!(
            block.contains(&want),
            "env ls lacks {want:?}:\n{}",
            ls.stdout
        );
    }
    assert!(block.contains("created 20"), "{}", ls.stdout);

    // Another run (its start-up sweep runs) and gc, at the same time, leave it up.
    let tmp = tempfile::tempdir().expect("tmp");
    let other = spawn(&FIXTURE_ARGS, &[], &repo());
    let other_pid = other.pid;
    let _other_guard = PidGuard(other_pid);
    let gc = run(&["gc"], &[], &repo(), T);
    let gc_all = run(&["gc", "--all"], &[], &repo(), T);
    let other = other.finish(T);
    assert_eq!(
        other.code,
        Some(0),
        "concurrent restore-test:\n{}",
        other.stderr
    );
    assert_eq!(gc.code, Some(0), "{}", gc.stderr);
    assert_eq!(gc_all.code, Some(0), "{}", gc_all.stderr);
    assert!(
        container_exists(&name) && volume_exists(&volume),
        "a sweep or gc removed the environment:\n{}\n{}",
        gc.stdout,
        gc_all.stdout
    );

    // The name stays taken.
    let again = run(&strs(&env_up_args(&name)), &[], &repo(), T);
    assert_eq!(again.code, Some(3), "{}", again.stderr);
    assert!(again.stderr.contains("error[env_name_in_use]") && again.stderr.contains(&name));

    // run --env: 26/26 in it, its baseline fingerprint unchanged.
    let report = tmp.path().join("report");
    let r = run(
        &[
            "run",
            "--env",
            &name,
            "--report",
            report.to_str().expect("utf-8 path"),
        ],
        &[],
        &repo(),
        T,
    );
    assert_eq!(r.code, Some(0), "run --env:\n{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("26 passed, 0 failed"), "{}", r.stdout);
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(report.join("hb05-closure.json")).expect("closure json"),
    )
    .expect("json");
    // The environment's database is no run's restore: the run restores its dump once, on a
    // server of its own, for the restore-phase scenarios.
    common::check_one_restore_per_dump(&json, "run-restore");
    let env = &json["attempts"][0]["environment"];
    assert_eq!(env["name"], name.as_str(), "{env}");
    assert_eq!(env["dump_sha256"], digest.as_str());
    assert_eq!(env["baseline_verdict"], "unchanged", "{env}");
    assert_eq!(env["baseline_before"], env["baseline_after"], "{env}");
    assert_eq!(
        env["baseline_before"]["data_sha256"].as_str().map(str::len),
        Some(64)
    );
    let clones = json["attempts"][0]["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .filter(|s| {
            s["strategy"]
                .as_str()
                .is_some_and(|t| t.contains(&format!("on environment {name}")))
        })
        .count();
    assert!(clones >= 10, "clone scenarios ran elsewhere: {clones}");
    let md = std::fs::read_to_string(report.join("hb05-closure.md")).expect("closure md");
    assert!(
        md.contains(&format!("persistent dry-run environment **{name}**"))
            && md.contains(&format!(
                "Baseline database `directus` of {name}: **unchanged**"
            )),
        "{md}"
    );
    // No scenario clone is left on its server.
    let databases = || {
        docker_lines(&[
            "exec",
            &name,
            "psql",
            "-U",
            "directus",
            "-d",
            "postgres",
            "-tAc",
            "SELECT datname FROM pg_database ORDER BY 1",
        ])
    };
    let dbs = databases();
    assert_eq!(dbs, vec!["directus", "postgres", "template0", "template1"]);
    // The closure's impact section was taken on a clone of the environment's baseline.
    assert_eq!(
        json["attempts"][0]["impact"]["report"]["passed"], true,
        "{}",
        json["attempts"][0]["impact"]
    );

    // `dryrun impact --env`: the plan profiled under load on a clone of the environment's
    // baseline (no restore), bound to the environment's dump; the clone is dropped.
    let impact_dir = tmp.path().join("impact");
    let imp = run(
        &[
            "impact",
            "--env",
            &name,
            "--load",
            "20",
            "--report",
            impact_dir.to_str().expect("utf-8 path"),
        ],
        &[],
        &repo(),
        T,
    );
    assert_eq!(imp.code, Some(0), "{}\n{}", imp.stdout, imp.stderr);
    let ij: serde_json::Value = serde_json::from_slice(
        &std::fs::read(impact_dir.join("impact.json")).expect("impact.json"),
    )
    .expect("json");
    assert_eq!(ij["dump_sha256"], digest.as_str(), "{}", ij["dump_sha256"]);
    assert_eq!(ij["passed"], true, "{}", ij["verdicts"]);
    assert!(
        ij["samples"].as_array().map_or(0, Vec::len) > 5,
        "no load ran"
    );
    let dbs = databases();
    assert_eq!(dbs, vec!["directus", "postgres", "template0", "template1"]);

    // The password appears in no output and no report.
    let mut outputs = vec![
        up.stdout, up.stderr, ls.stdout, ls.stderr, r.stdout, r.stderr, imp.stdout, imp.stderr,
    ];
    outputs.extend(texts_under(&impact_dir).into_iter().map(|(_, t)| t));
    outputs.extend(texts_under(&report).into_iter().map(|(_, t)| t));
    assert!(
        outputs.iter().all(|o| !o.contains(&password)),
        "the environment's password was printed"
    );

    // A backup set holding another dump is refused before anything runs in the environment.
    let other_set = tmp.path().join("other-set");
    std::fs::create_dir(&other_set).expect("mkdir");
    let mut dump = std::fs::read(repo().join("fixtures/directus_full_fixture.dump")).expect("dump");
    dump.push(0);
    std::fs::write(other_set.join("other.dump"), &dump).expect("write dump");
    std::fs::copy(
        repo().join("fixtures/directus_rowcounts_fixture.psv"),
        other_set.join("directus_rowcounts_fixture.psv"),
    )
    .expect("copy psv");
    std::fs::write(
        other_set.join("SHA256SUMS"),
        format!("{}  other.dump\n", hex::encode(sha2::Sha256::digest(&dump))),
    )
    .expect("write sums");
    let other_report = tmp.path().join("other-report");
    let mismatch = run(
        &[
            "run",
            "--env",
            &name,
            "--fixtures",
            other_set.to_str().expect("utf-8 path"),
            "--report",
            other_report.to_str().expect("utf-8 path"),
        ],
        &[],
        &repo(),
        T,
    );
    assert_eq!(mismatch.code, Some(3), "{}", mismatch.stderr);
    assert!(
        mismatch.stderr.contains("error[env_dump_mismatch]")
            && mismatch.stderr.contains(&digest)
            && mismatch.stderr.contains("hint:"),
        "{}",
        mismatch.stderr
    );
    assert!(
        !other_report.exists(),
        "a report was written for a refused run"
    );

    // env down removes its container and volume, and only those.
    let down = run(&["env", "down", &name], &[], &repo(), T);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
    assert!(!container_exists(&name), "container left");
    assert!(!volume_exists(&volume), "volume left");
}

#[test]
fn kept_container_survives_other_runs_sweep_and_gc_and_is_named_in_the_report() {
    let _serial = serial();
    let tmp = tempfile::tempdir().expect("tmp");
    let report = tmp.path().join("report");
    let mut args: Vec<String> = FIXTURE_ARGS.iter().map(|s| s.to_string()).collect();
    args.extend([
        "--keep".into(),
        "--report".into(),
        report.display().to_string(),
    ]);
    let kept = run(&strs(&args), &[], &repo(), T);
    let _guard = PidGuard(kept.pid);
    assert_eq!(kept.code, Some(0), "{}", kept.stderr);
    let (cs, vs) = labelled(kept.pid);
    assert_eq!((cs.len(), vs.len()), (1, 1), "kept: {cs:?} {vs:?}");
    let container = cs[0].split_whitespace().nth(1).expect("name").to_string();
    let md = std::fs::read_to_string(report.join("restore-test.md")).expect("md");
    assert!(
        md.contains("## Kept container")
            && md.contains(&format!("container `{container}`, data volume `{}`", vs[0]))
            && md.contains(&format!(
                "docker exec -it {container} psql -U directus -d directus"
            ))
            && md.contains(&format!("docker rm -f -v {container}")),
        "{md}"
    );

    // Another run's start-up sweep (it then stops at the image check) and `gc` leave it.
    let other = run(
        &FIXTURE_ARGS,
        &[("DRYRUN_FAULT", "image=panic")],
        &repo(),
        T,
    );
    cleanup(other.pid);
    assert!(
        other.stderr.contains("dryrun-fault: reached image"),
        "{}",
        other.stderr
    );
    let gc = run(&["gc"], &[], &repo(), T);
    assert_eq!(gc.code, Some(0), "{}", gc.stderr);
    assert_eq!(
        labelled(kept.pid),
        (cs.clone(), vs.clone()),
        "the kept container was swept"
    );

    // `gc --all` removes kept containers whose command has exited.
    let gc_all = run(&["gc", "--all"], &[], &repo(), T);
    assert_eq!(gc_all.code, Some(0), "{}", gc_all.stderr);
    assert_eq!(labelled(kept.pid), (vec![], vec![]), "gc --all left it");
}

#[test]
fn no_gc_form_removes_a_live_runs_container() {
    let _serial = serial();
    let mut r = spawn(&FIXTURE_ARGS, &[("DRYRUN_FAULT", "restore=pause")], &repo());
    let pid = r.pid;
    let _guard = PidGuard(pid);
    let reached = r.wait_for("dryrun-fault: reached restore", T);
    let held = labelled(pid);
    if !reached || held.0.is_empty() {
        let _ = r.child.kill();
        let f = r.finish(T);
        panic!("the run did not pause holding a container:\n{}", f.stderr);
    }
    for args in [&["gc"][..], &["gc", "--all"][..]] {
        let gc = run(args, &[], &repo(), T);
        assert_eq!(gc.code, Some(0), "{args:?}: {}", gc.stderr);
        assert_eq!(
            labelled(pid),
            held,
            "{args:?} removed a live run's resources"
        );
    }
    r.signal("INT");
    let f = r.finish(T);
    assert_eq!(f.code, Some(130), "{}", f.stderr);
    assert_eq!(labelled(pid), (vec![], vec![]));
}
