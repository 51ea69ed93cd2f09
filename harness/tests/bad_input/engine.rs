//! The environment, with valid inputs: the Docker socket absent, an API version refused,
//! permission denied on the socket, and an image that is missing with no way to build it.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::inputs::*;
use crate::support::*;

#[test]
fn docker_socket_absent() {
    let i = Inputs::new(DUMP, &fixture(DUMP));
    let mut c = i.command();
    c.env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    let r = run(c);
    assert_refused(
        &r,
        4,
        "docker_unreachable",
        &["unix:///nonexistent/docker.sock", "DOCKER_HOST"],
    );
    i.assert_untouched();
}

/// The start-up probe against a real refusal: `DRYRUN_FAULT=docker=api:9.99` puts `/v9.99` in
/// every request path (what a bollard with issue #736 fixed does with its own version); the
/// engine answers 400 "client version 9.99 is too new", and the command stops before creating
/// anything, with its own exit code.
#[test]
fn docker_api_version_refused() {
    let i = Inputs::new(DUMP, &fixture(DUMP));
    let mut c = i.command();
    c.env("DRYRUN_FAULT", "docker=api:9.99");
    let r = run(c);
    assert_refused(
        &r,
        6,
        "docker_api_version_refused",
        &["9.99", "too new", "DOCKER_HOST", "bollard 0.21.1"],
    );
    i.assert_untouched();
}

const NOBODY: u32 = 65534;
const SOCKET: &str = "/var/run/docker.sock";

/// Whether "others" (a uid that is neither owner nor in the group) have `bits` on `path`.
fn others_may(path: &Path, bits: u32) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & bits == bits)
}

#[test]
fn docker_permission_denied() {
    let sock = std::fs::metadata(SOCKET)
        .unwrap_or_else(|e| panic!("{SOCKET} is needed for this test: {e}"));
    if sock.permissions().mode() & 0o006 == 0o006 {
        crate::common::skip_or_fail(&format!(
            "{SOCKET} is world-accessible; permission denied cannot be provoked"
        ));
        return;
    }
    let me = std::fs::metadata("/proc/self").unwrap().uid();
    if me != 0 {
        crate::common::skip_or_fail(&format!(
            "not running as root (uid {me}); cannot switch to uid {NOBODY}"
        ));
        return;
    }
    // The child runs as nobody: the inputs and the binary must be readable/executable by it.
    let i = Inputs::new(DUMP, &fixture(DUMP));
    std::fs::set_permissions(&i.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for f in [&i.dump, &i.sums] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let bin = PathBuf::from(BIN);
    let reachable =
        bin.ancestors().skip(1).all(|d| others_may(d, 0o001)) && others_may(&bin, 0o005);
    let bin_tmp = tempfile::tempdir().unwrap();
    let bin = if reachable {
        bin
    } else {
        std::fs::set_permissions(bin_tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let copy = bin_tmp.path().join("dryrun");
        std::fs::copy(&bin, &copy).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        copy
    };
    let mut c = i.command_with(&bin);
    c.env_remove("DOCKER_HOST").uid(NOBODY).gid(NOBODY);
    let r = run(c);
    assert_refused(&r, 4, "docker_permission_denied", &[SOCKET, "DOCKER_HOST"]);
    i.assert_untouched();
}

#[test]
fn image_missing_with_no_way_to_build_it() {
    let present = Command::new("docker")
        .args(["image", "inspect", MISSING_IMAGE])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("docker image inspect");
    assert!(
        !present.success(),
        "{MISSING_IMAGE} exists; the test needs it absent"
    );
    let i = Inputs::new(DUMP, &fixture(DUMP));
    let mut c = i.command();
    c.env("PG_IMAGE", MISSING_IMAGE);
    let r = run(c);
    assert_refused(&r, 4, "image_missing", &[MISSING_IMAGE]);
    let hint = r.stderr.lines().find(|l| l.contains("hint:")).unwrap();
    assert!(
        hint.contains("make image") && hint.contains("PG_IMAGE"),
        "hint must name `make image` and PG_IMAGE: {hint}"
    );
    i.assert_untouched();
}
