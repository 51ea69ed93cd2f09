//! The restored bundled fixture in a container of the test's own, used as a template: each
//! check gets its own database cloned from it (`with_db`), dropped afterwards even on panic.

use std::future::Future;

use futures_util::FutureExt;
use harness::container::{PgContainer, PgSpec, DB_NAME};
use harness::docker::RunIdentity;
use tokio_postgres::{Client, NoTls};

/// The restored container's connection (without a database), set once by the test.
pub static BASE: std::sync::OnceLock<tokio_postgres::Config> = std::sync::OnceLock::new();

/// A connection to database `db` of the test's container.
pub async fn connect(db: &str) -> Client {
    let mut cfg = BASE.get().expect("the container is up").clone();
    cfg.dbname(db);
    let (client, connection) = cfg
        .connect(NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to database {db}: {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// Clone the restored fixture into `<prefix>_<name>`, run `body`, drop the database (even on
/// panic).
pub async fn with_db<F, Fut>(prefix: &str, name: &str, body: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let db = format!("{prefix}_{name}");
    let admin = connect("postgres").await;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await
        .expect("drop leftover test database");
    admin
        .batch_execute(&format!("CREATE DATABASE {db} TEMPLATE {DB_NAME}"))
        .await
        .unwrap_or_else(|e| {
            panic!("CREATE DATABASE {db} TEMPLATE {DB_NAME} failed ({e:?}): the restored fixture is the template")
        });
    let result = std::panic::AssertUnwindSafe(body(db.clone()))
        .catch_unwind()
        .await;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await
        .expect("drop test database");
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}

/// Start a container of this test (`role`) with restore-time settings, restore the bundled
/// fixture into it and set [`BASE`]. The guard sweeps the run's containers when dropped.
pub async fn start_restored(role: &str) -> (super::SweepOnDrop, PgContainer) {
    let (docker, image) = super::docker_and_image().await;
    let run = RunIdentity::new();
    let sweep = super::SweepOnDrop {
        docker: docker.clone(),
        run_id: run.run_id.clone(),
    };
    let mut spec = PgSpec::new(&image, role);
    spec.settings = harness::restore::fast_settings();
    let pg = PgContainer::start(&docker, &run, &spec)
        .await
        .unwrap_or_else(|e| panic!("{}", e.report()));
    let dump = super::repo().join("fixtures/directus_full_fixture.dump");
    let (outcome, _, _) = harness::restore::restore_into(&pg, &dump, 2)
        .await
        .unwrap_or_else(|e| panic!("restore of the bundled fixture: {}", e.report()));
    // The fixture's one known-benign error (the missing role) is the only message allowed.
    assert!(
        outcome.passed && outcome.messages.iter().all(|m| m.kind == "missing_role"),
        "the bundled fixture did not restore cleanly: exit {}, {:?}",
        outcome.exit_code,
        outcome.messages
    );
    BASE.set(pg.pg_config("postgres").expect("config"))
        .expect("set once");
    (sweep, pg)
}
