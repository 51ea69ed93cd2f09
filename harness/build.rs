//! Re-run the build when a file under `migrations/p0` is added, removed or changed: the P0 plan
//! is embedded whole (`include_dir!` in `src/migrate.rs`), and cargo tracks only files it saw.
fn main() {
    println!("cargo:rerun-if-changed=../migrations/p0");
}
