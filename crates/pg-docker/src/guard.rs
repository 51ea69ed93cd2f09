//! Production guard: migrations and scenarios run only against containers this run created,
//! or the harness's own persistent dry-run environment named by `run --env`, checked by id and
//! labels. There is no option to point them at an arbitrary server.

use bollard::Docker;

use crate::docker::{
    RunIdentity, LABEL_ENV, LABEL_HARNESS, LABEL_HARNESS_VALUE, LABEL_PERSISTENT, LABEL_RUN,
};
use crate::error::{Error, ErrorKind, Result};

/// Accept `container` as a migration target only if it carries this run's labels.
pub async fn ensure_owned(docker: &Docker, run: &RunIdentity, container: &str) -> Result<()> {
    ensure_target(docker, run, container, None).await
}

/// [`ensure_owned`], or (with `env = Some(name)`) the harness's persistent environment of that
/// name, on whose server the run creates its clone databases (never writing its baseline).
pub async fn ensure_target(
    docker: &Docker,
    run: &RunIdentity,
    container: &str,
    env: Option<&str>,
) -> Result<()> {
    let info = match docker.inspect_container(container, None).await {
        Ok(i) => i,
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => {
            return Err(Error::new(
                ErrorKind::TargetNotOwned,
                format!(
                    "Refusing target {container}: no such container was provisioned by this run."
                ),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let labels = info.config.and_then(|c| c.labels).unwrap_or_default();
    let harness = labels.get(LABEL_HARNESS).map(String::as_str) == Some(LABEL_HARNESS_VALUE);
    let named_env = env.is_some_and(|name| {
        labels.get(LABEL_PERSISTENT).map(String::as_str) == Some("true")
            && labels.get(LABEL_ENV).map(String::as_str) == Some(name)
    });
    let ours = harness && (labels.get(LABEL_RUN) == Some(&run.run_id) || named_env);
    if !ours {
        return Err(Error::new(
            ErrorKind::TargetNotOwned,
            format!("Refusing target {container}: it was not provisioned by this run ({}), so the harness will not write to it.", run.run_id),
        )
        .with_hint("The harness only migrates databases inside containers it created itself; it never writes to a production server."));
    }
    Ok(())
}
