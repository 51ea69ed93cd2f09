//! Content proof of a restore with real containers and the real binary: `dryrun backup`
//! writes the content hashes (listed in SHA256SUMS), `restore-test` finds every table
//! identical after a clean restore and names the table whose recorded hash was tampered with.

use std::path::{Path, PathBuf};
use std::process::Command;

use harness::container::{PgContainer, PgSpec};
use harness::docker::RunIdentity;
use sha2::{Digest, Sha256};

mod common;
use common::SweepOnDrop;

const BIN: &str = env!("CARGO_BIN_EXE_dryrun");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn dryrun(args: &[&str]) -> Out {
    let o = Command::new(BIN)
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run dryrun");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn one_with(dir: &Path, prefix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read backup dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {prefix}* in {}: {found:?}",
        dir.display()
    );
    found[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_records_content_and_restore_test_proves_it() {
    let docker = harness::docker::connect()
        .await
        .unwrap_or_else(|e| panic!("{}", e.report()));
    let image = harness::image::resolve(&docker, std::env::var("PG_IMAGE").ok().as_deref())
        .await
        .unwrap_or_else(|e| panic!("{}", e.report()));
    let run = RunIdentity::new();
    let _sweep = SweepOnDrop {
        docker: docker.clone(),
        run_id: run.run_id.clone(),
    };
    // the "production" source: the bundled fixture restored into its own container
    let mut spec = PgSpec::new(&image.reference, "test-content-source");
    spec.publish = false;
    let source = PgContainer::start(&docker, &run, &spec)
        .await
        .unwrap_or_else(|e| panic!("start: {}", e.report()));
    let (ro, _, _) = harness::restore::restore_into(
        &source,
        &repo().join("fixtures/directus_full_fixture.dump"),
        2,
    )
    .await
    .unwrap_or_else(|e| panic!("restore: {}", e.report()));
    assert!(ro.passed, "fixture restore: {:?}", ro.messages);

    let tmp = tempfile::tempdir().expect("tmp");
    let set = tmp.path().join("set");
    let b = dryrun(&[
        "backup",
        "--source-container",
        &source.name,
        "--out",
        &set.display().to_string(),
    ]);
    assert_eq!(b.code, 0, "backup: {}\n{}", b.stderr, b.stdout);
    let content = one_with(&set, "directus_content_");
    let sums = set.join("SHA256SUMS");
    let sums_text = std::fs::read_to_string(&sums).expect("sums");
    let content_name = content.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        sums_text
            .lines()
            .any(|l| l.ends_with(&format!("  {content_name}"))),
        "SHA256SUMS does not list {content_name}:\n{sums_text}"
    );
    let file: harness::fingerprint::ContentFile =
        serde_json::from_str(&std::fs::read_to_string(&content).expect("read")).expect("json");
    let n = file.tables.len();
    assert!(n > 50, "only {n} tables in the content file");
    let dot_tools = file
        .tables
        .iter()
        .find(|t| t.schema == "public" && t.table == "dot_tools")
        .expect("public.dot_tools recorded");
    assert!(dot_tools.row_count > 0);

    let dump = one_with(&set, "directus_full_");
    let psv = one_with(&set, "directus_rowcounts_");
    let args = |report: &Path| -> Vec<String> {
        vec![
            "restore-test".into(),
            "--dump".into(),
            dump.display().to_string(),
            "--sums".into(),
            sums.display().to_string(),
            "--rowcounts".into(),
            psv.display().to_string(),
            "--report".into(),
            report.display().to_string(),
        ]
    };
    let a = args(&tmp.path().join("r1"));
    let r = dryrun(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, 0, "clean restore: {}\n{}", r.stderr, r.stdout);
    assert!(
        r.stdout
            .contains(&format!("content identical: {n} of {n} tables")),
        "{}",
        r.stdout
    );

    // tamper with one recorded hash, regenerate the sums: the table is named, exit 1
    let mut tampered = file.clone();
    for t in tampered.tables.iter_mut() {
        if t.schema == "public" && t.table == "dot_tools" {
            t.content_sha256 = Some("0".repeat(64));
        }
    }
    std::fs::write(&content, tampered.render()).expect("write");
    let digest = hex::encode(Sha256::digest(tampered.render().as_bytes()));
    let new_sums: String = sums_text
        .lines()
        .map(|l| {
            if l.ends_with(&format!("  {content_name}")) {
                format!("{digest}  {content_name}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&sums, new_sums).expect("write sums");
    let a = args(&tmp.path().join("r2"));
    let r = dryrun(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, 1, "tampered content: {}\n{}", r.stderr, r.stdout);
    assert!(
        r.stdout
            .contains(&format!("content identical: {} of {n} tables", n - 1)),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("public.dot_tools"), "{}", r.stdout);
    assert!(r.stdout.contains("stopped at content"), "{}", r.stdout);
    source.remove().await.expect("remove source");
}
