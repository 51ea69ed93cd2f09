//! The module graph of every library crate of the workspace, read from the code (each file
//! parsed with `syn`; every `crate::`, `super::` and `self::` path, in `use` trees, in code and
//! inside macro bodies; a name reached through a `pub use` re-export, such as the crate root's
//! `pub use canon::Canonical` or a folder's `pub use model::*`, counts for the module that
//! defines it): no import cycle among a crate's modules, and no module importing one of
//! a higher layer (the table in `ARCHITECTURE.md`, `LAYERS` here). A node is a module up to two
//! levels deep (`scenario::suite`, `impact::lint`); a module and its own parent or children are
//! one unit (a `mod.rs` re-exporting its children is glue, not a dependency). The backup set is
//! the crate `backup-set`: its manifest, and what it reaches in `Cargo.lock`, name no async
//! runtime, Docker, database client, terminal drawing or the harness, so the compiler keeps it
//! pure and synchronous. PostgreSQL in Docker is the crate `pg-docker`: its manifest, and what it
//! reaches, name neither the harness nor a crate of its operations, reports, terminal or command
//! line, so the compiler keeps it from reaching up into them.
//! `cargo test -p dryrun-harness --test layers -- --nocapture` prints the graph.
//!
//! The parts live in `layers/`: `graph` (reading the code), `exports` (re-exports), `cycles`,
//! `layering` (the LAYERS table), `backup_set` and `pg_docker`.

#[path = "layers/backup_set.rs"]
mod backup_set;
#[path = "layers/cycles.rs"]
mod cycles;
#[path = "layers/exports.rs"]
mod exports;
#[path = "layers/graph.rs"]
mod graph;
#[path = "layers/layering.rs"]
mod layering;
#[path = "layers/pg_docker.rs"]
mod pg_docker;
