//! `dryrun impact` through the real binary on the bundled fixture restored into a real
//! PostgreSQL 16 container: the stand-in P0 keeps the P0 rule set (only ACCESS SHARE on a
//! pre-existing relation, no rewrite, no enforced lint finding); a plan of our own that breaks
//! each rule is named by the profile (exact lock mode and relation, statement file:line) and by
//! the lint (file:line and rule), and exits 1.

mod common;

use std::path::Path;
use std::time::Duration;

fn impact(args: &[&str], report: &Path) -> (Option<i32>, serde_json::Value, String) {
    let report_s = report.display().to_string();
    let mut all = vec!["impact", "--report", &report_s];
    all.extend_from_slice(args);
    let f = common::run(&all, &[], &common::repo(), Duration::from_secs(600));
    common::cleanup(f.pid);
    let json = std::fs::read(report.join("impact.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| {
            panic!(
                "impact.json written; exit {:?}\n{}\n{}",
                f.code, f.stdout, f.stderr
            )
        });
    (f.code, json, f.stdout)
}

fn breaches(j: &serde_json::Value, rule: &str) -> Vec<String> {
    j["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .find(|v| v["rule"] == rule)
        .unwrap_or_else(|| panic!("no verdict for {rule}"))["breaches"]
        .as_array()
        .expect("breaches")
        .iter()
        .map(|b| b.as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn the_stand_in_p0_keeps_the_p0_rules() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (code, j, stdout) = impact(&[], &tmp.path().join("r"));
    assert_eq!(code, Some(0), "{stdout}");
    assert_eq!(j["passed"], true);
    // It does touch a pre-existing table, and only with ACCESS SHARE (SPEC §7a).
    let holds: Vec<(String, String)> = j["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .flat_map(|s| s["holds"].as_array().cloned().unwrap_or_default())
        .map(|h| {
            (
                h["relation"].as_str().unwrap_or_default().to_string(),
                h["mode"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(
        holds.contains(&("public.dot_tools".into(), "AccessShareLock".into())),
        "{holds:?}"
    );
    assert!(
        holds.iter().all(|(_, m)| m == "AccessShareLock"),
        "{holds:?}"
    );
    // Every step ran both ways (7 deploys, 7 reverts), and none rewrote anything.
    assert_eq!(j["steps"].as_array().map(Vec::len), Some(14));
    let md = std::fs::read_to_string(tmp.path().join("r/impact.md")).expect("impact.md");
    assert!(md.contains("**Verdict: PASS**"), "{md}");
    let junit = std::fs::read_to_string(tmp.path().join("r/impact-junit.xml")).expect("junit");
    assert!(junit.contains("name=\"max_lock_on_existing\""), "{junit}");
    // Objects per statement, exactly (catalog rows this transaction wrote, or gone).
    let objects_at = |file: &str, line: u64| -> Vec<String> {
        j["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .filter(|s| s["file"] == file)
            .flat_map(|s| s["statements"].as_array().cloned().unwrap_or_default())
            .filter(|st| st["line"] == line)
            .flat_map(|st| st["objects"].as_array().cloned().unwrap_or_default())
            .map(|o| {
                format!(
                    "{} {}",
                    o["change"].as_str().unwrap_or(""),
                    o["object"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    let created = objects_at("deploy/02_dot_tool_revision.sql", 4);
    assert!(
        created.contains(&"created table cutter_governance.dot_tool_revision".to_string())
            && created.iter().all(|o| o.starts_with("created ")),
        "{created:?}"
    );
    // The INSERT … SELECT reading public.dot_tools makes or changes no object.
    assert_eq!(
        objects_at("deploy/02_dot_tool_revision.sql", 19),
        Vec::<String>::new()
    );
    let dropped = objects_at("revert/01_schema.sql", 5);
    assert_eq!(
        dropped,
        vec!["dropped schema cutter_governance".to_string()]
    );
    // It acts only inside its own schema: the lint's outside-own-schemas finds nothing.
    let outside: Vec<&serde_json::Value> = j["lint"]
        .as_array()
        .expect("lint")
        .iter()
        .filter(|f| f["rule"] == "outside-own-schemas")
        .collect();
    assert!(outside.is_empty(), "{outside:?}");
    // The timeline: a lane per step, no writers.
    let svg = std::fs::read_to_string(tmp.path().join("r/impact-timeline.svg")).expect("svg");
    assert!(
        svg.contains("deploy 02_dot_tool_revision") && svg.contains("revert 07_g2_backlog_view"),
        "{svg}"
    );
    assert!(svg.contains("No load") && !svg.contains("<circle"), "{svg}");
    assert!(md.contains("![Lock holds per step against writer latency](impact-timeline.svg)"));
}

/// Appended to 04_cut_unit's deploy (lines counted from the file's end as it stands).
const BREAKING: &str = "\nCREATE INDEX p0_bad_code_idx ON public.tac_logical_unit (code);\n\
ALTER TABLE cutter_governance.cut_unit ADD CONSTRAINT p0_bad_fk FOREIGN KEY (logical_unit_id) REFERENCES public.tac_logical_unit (id);\n\
ALTER TABLE public.tac_publication ALTER COLUMN checksum TYPE varchar(200);\n\
UPDATE public.tac_publication SET url = url;\n";

#[test]
fn a_plan_breaking_each_rule_is_named_by_profile_and_lint() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let plan = tmp.path().join("p0");
    common::copy_tree(&common::repo().join("migrations/p0"), &plan);
    let deploy = plan.join("deploy/04_cut_unit.sql");
    let text = std::fs::read_to_string(&deploy).expect("read deploy 04");
    let first = text.lines().count() + 2; // the appended text starts with a blank line
    std::fs::write(&deploy, format!("{text}{BREAKING}")).expect("write deploy 04");
    let line = |k: usize| format!("deploy/04_cut_unit.sql:{}", first + k);

    let plan_s = plan.display().to_string();
    let (code, j, stdout) = impact(&["--plan", &plan_s], &tmp.path().join("r"));
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(j["passed"], false);
    let locks = breaches(&j, "max_lock_on_existing").join("\n");
    // A step's hold is its strongest mode per relation: on public.tac_logical_unit the FK's
    // SHARE ROW EXCLUSIVE (line 1) outranks the index's SHARE (line 0, named per statement below).
    for (mode, relation, at) in [
        ("ShareRowExclusiveLock", "public.tac_logical_unit", line(1)),
        ("AccessExclusiveLock", "public.tac_publication", line(2)),
    ] {
        assert!(
            locks.contains(&format!("took {mode} on {relation} ({at})")),
            "{mode} on {relation} by {at}:\n{locks}"
        );
    }
    // Per statement, each lock where it was taken.
    let statements: Vec<&serde_json::Value> = j["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["file"] == "deploy/04_cut_unit.sql")
        .flat_map(|s| s["statements"].as_array().expect("statements").iter())
        .collect();
    let at = |k: usize| {
        statements
            .iter()
            .find(|s| s["line"] == first + k)
            .unwrap_or_else(|| panic!("no statement at {}", line(k)))
    };
    let locks_of = |k: usize| at(k)["locks"].to_string();
    assert!(
        locks_of(0).contains("\"ShareLock\"") && locks_of(0).contains("public.tac_logical_unit")
    );
    assert!(
        locks_of(1).contains("\"ShareRowExclusiveLock\"")
            && locks_of(1).contains("public.tac_logical_unit"),
        "{}",
        locks_of(1)
    );
    assert!(
        locks_of(2).contains("\"AccessExclusiveLock\"")
            && locks_of(2).contains("public.tac_publication")
    );
    // The UPDATE needs nothing stronger on its table than what the ALTER already holds (no
    // new lock there); its FK checks take ROW SHARE on the referenced tables.
    let update = at(3)["locks"].as_array().cloned().unwrap_or_default();
    assert!(
        update
            .iter()
            .all(|l| l["relation"] != "public.tac_publication"),
        "{update:?}"
    );
    assert!(
        update
            .iter()
            .any(|l| l["relation"] == "public.tac_unit_version" && l["mode"] == "RowShareLock"),
        "{update:?}"
    );
    // The type change altered the business table (its catalog row rewritten), the index was
    // created on it.
    let objects = |k: usize| at(k)["objects"].to_string();
    assert!(
        objects(2).contains("\"altered\"") && objects(2).contains("table public.tac_publication"),
        "{}",
        objects(2)
    );
    assert!(
        objects(0).contains("\"created\"") && objects(0).contains("index public.p0_bad_code_idx"),
        "{}",
        objects(0)
    );
    // The type change rewrote the table.
    assert!(
        breaches(&j, "rewrite_existing")
            .iter()
            .any(|b| b == &format!("{} rewrote public.tac_publication", line(2))),
        "{:?}",
        breaches(&j, "rewrite_existing")
    );
    let lint = |rule: &str| breaches(&j, &format!("lint:{rule}")).join("\n");
    assert!(
        lint("require-concurrent-index-creation").contains(&line(0)),
        "{}",
        lint("require-concurrent-index-creation")
    );
    // Squawk lets an FK added to a table created in the same file pass (adding-foreign-key-
    // constraint looks at the altered table, new here); the profile names the real cost: SHARE
    // ROW EXCLUSIVE on the referenced pre-existing table (asserted above).
    assert!(lint("adding-foreign-key-constraint").is_empty());
    assert!(
        lint("changing-column-type").contains(&line(2)),
        "{}",
        lint("changing-column-type")
    );
    // Statements acting on pre-existing objects outside the plan's schema, by file:line; the
    // ALTER of its own table (whose FK reaches public, which the profile names) is not one.
    let outside = lint("outside-own-schemas");
    for (k, name) in [
        (0, "public.tac_logical_unit"),
        (2, "public.tac_publication"),
        (3, "public.tac_publication"),
    ] {
        assert!(
            outside.contains(&format!("{} ", line(k))) && outside.contains(name),
            "{} {name}:\n{outside}",
            line(k)
        );
    }
    assert!(!outside.contains(&format!("{} ", line(1))), "{outside}");
    let svg = std::fs::read_to_string(tmp.path().join("r/impact-timeline.svg")).expect("svg");
    assert!(
        svg.contains("ACCESS EXCLUSIVE") && svg.contains("SHARE ROW EXCLUSIVE"),
        "{svg}"
    );
    assert!(stdout.contains("**Verdict: BREACH**"), "{stdout}");
}

#[test]
fn a_bad_rule_set_is_refused_before_any_container() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let rules = tmp.path().join("rules.yaml");
    std::fs::write(&rules, "max_lock_on_existing: TotalLock\n").expect("write");
    let rules_s = rules.display().to_string();
    let report = tmp.path().join("r").display().to_string();
    let f = common::run(
        &["impact", "--rules", &rules_s, "--report", &report],
        &[],
        &common::repo(),
        Duration::from_secs(120),
    );
    assert_eq!(f.code, Some(3), "{}", f.stderr);
    assert!(
        f.stderr.contains("impact_rules_invalid") && f.stderr.contains(&rules_s),
        "{}",
        f.stderr
    );
    assert!(!tmp.path().join("r").exists(), "nothing written");
    let (containers, volumes) = common::labelled(f.pid);
    assert!(containers.is_empty() && volumes.is_empty());
}

/// `dryrun run` judges the impact against the checkout's own `checks/p0-impact.yaml`: one
/// that cannot be read stops the run before any container, naming the file, and writes nothing.
#[test]
fn dryrun_run_refuses_a_bad_rule_set_of_its_checkout_before_any_container() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("repo");
    for d in ["scenarios", "snapshots", "checks", "fixtures"] {
        common::copy_tree(&common::repo().join(d), &repo.join(d));
    }
    std::fs::write(
        repo.join("checks/p0-impact.yaml"),
        "max_lock_on_existing: AccessShareLock\nmax_step_ms: soon\n",
    )
    .expect("write");
    let report = tmp.path().join("r");
    let report_s = report.display().to_string();
    let repo_s = repo.display().to_string();
    let f = common::run(
        &["run", "--repo", &repo_s, "--report", &report_s],
        &[],
        &common::repo(),
        Duration::from_secs(120),
    );
    assert_eq!(f.code, Some(3), "{}\n{}", f.stdout, f.stderr);
    assert!(
        f.stderr.contains("impact_rules_invalid") && f.stderr.contains("checks/p0-impact.yaml"),
        "{}",
        f.stderr
    );
    assert!(
        !report.join("hb05-closure.json").exists(),
        "nothing written"
    );
    let (containers, volumes) = common::labelled(f.pid);
    assert!(containers.is_empty() && volumes.is_empty());
}

/// Under load: a step holding ACCESS EXCLUSIVE on `public.dot_tools` for 1.2 s stalls the
/// writers on it for about that long, named with the step, the mode and the statement; the
/// stand-in P0 under the same load stalls nobody past the rule.
#[test]
fn under_load_a_long_exclusive_lock_stalls_writers_and_p0_does_not() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let plan = tmp.path().join("p0");
    common::copy_tree(&common::repo().join("migrations/p0"), &plan);
    let deploy = plan.join("deploy/02_dot_tool_revision.sql");
    let text = std::fs::read_to_string(&deploy).expect("read deploy 02");
    let lock_line = text.lines().count() + 2;
    std::fs::write(
        &deploy,
        format!("{text}\nLOCK TABLE public.dot_tools IN ACCESS EXCLUSIVE MODE;\nSELECT pg_sleep(1.2);\n"),
    )
    .expect("write deploy 02");
    let plan_s = plan.display().to_string();
    let (code, j, stdout) = impact(&["--plan", &plan_s, "--load", "40"], &tmp.path().join("r"));
    assert_eq!(code, Some(1), "{stdout}");
    let stalls = breaches(&j, "max_writer_stall_ms");
    let named = stalls
        .iter()
        .find(|b| {
            b.starts_with("deploy 02_dot_tool_revision blocked a write on public.dot_tools for ")
                || b.starts_with(
                    "deploy 02_dot_tool_revision blocked a read on public.dot_tools for ",
                )
        })
        .unwrap_or_else(|| panic!("{stalls:?}"));
    assert!(
        named.contains(&format!(
            "the step held AccessExclusiveLock on it (deploy/02_dot_tool_revision.sql:{lock_line})"
        )),
        "{named}"
    );
    let step = j["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["step"] == "02_dot_tool_revision" && s["phase"] == "deploy")
        .expect("deploy 02");
    let longest = step["stalls"]["longest_ms"].as_f64().expect("longest");
    assert!(
        longest >= 1000.0,
        "a 1.2 s lock stalls a writer about that long: {longest} ms"
    );
    assert!(step["stalls"]["blocked"].as_u64().unwrap_or(0) >= 1);
    // Reads too: a page of rows waits behind ACCESS EXCLUSIVE like a write.
    let samples = j["samples"].as_array().expect("samples");
    assert!(
        samples
            .iter()
            .any(|s| s["access"] == "read" && s["latency_ms"].as_f64().unwrap_or(0.0) >= 1000.0),
        "no read blocked behind the lock"
    );
    // The timeline shows the stalled writes in red, over the limit line.
    let svg = std::fs::read_to_string(tmp.path().join("r/impact-timeline.svg")).expect("svg");
    assert!(svg.contains("40 statements/s"), "{svg}");
    assert!(
        svg.contains("fill=\"#FF0000\""),
        "no write drawn over the limit"
    );

    let (code, j, stdout) = impact(&["--load", "40"], &tmp.path().join("p0-under-load"));
    assert_eq!(code, Some(0), "{stdout}");
    assert!(breaches(&j, "max_writer_stall_ms").is_empty());
    assert!(
        j["samples"].as_array().map_or(0, Vec::len) > 10,
        "the writers wrote: {}",
        j["samples"]
    );
}
