//! Re-run the build when a file of the suite built into `dryrun` is added, removed or changed:
//! the P0 plan (`include_dir!` in `src/migrate.rs`) and the bundle (`src/bundle.rs`: scenarios,
//! snapshots, checks, fingerprint queries, fixtures); cargo tracks only files it saw.
fn main() {
    for dir in [
        "../migrations/p0",
        "../migrations/fingerprint",
        "../scenarios",
        "../snapshots",
        "../checks",
        "../fixtures",
    ] {
        println!("cargo:rerun-if-changed={dir}");
    }
}
