//! The README's "Bad input" table as tests: each row runs the real `dryrun` binary on one bad
//! input and checks exit code, error kind + path + hint, no panic, no partial output, no leftovers.
//!
//! One module per topic in `bad_input/`; `support` and `inputs` hold what the rows share.

mod common;

#[path = "bad_input/checks.rs"]
mod checks;
#[path = "bad_input/checksums.rs"]
mod checksums;
#[path = "bad_input/content.rs"]
mod content;
#[path = "bad_input/dumps.rs"]
mod dumps;
#[path = "bad_input/engine.rs"]
mod engine;
#[path = "bad_input/envs.rs"]
mod envs;
#[path = "bad_input/inputs.rs"]
mod inputs;
#[path = "bad_input/out_dirs.rs"]
mod out_dirs;
#[path = "bad_input/plans.rs"]
mod plans;
#[path = "bad_input/psv.rs"]
mod psv;
#[path = "bad_input/scenarios.rs"]
mod scenarios;
#[path = "bad_input/support.rs"]
mod support;
