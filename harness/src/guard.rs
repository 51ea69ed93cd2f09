//! Production guard: migrations and scenarios run only against containers this run created,
//! checked by id and labels. There is no option to point them at an arbitrary server.

use bollard::Docker;

use crate::docker::{RunIdentity, LABEL_HARNESS, LABEL_HARNESS_VALUE, LABEL_RUN};
use crate::error::{Error, Result};

/// Accept `container` as a migration target only if it carries this run's labels.
pub async fn ensure_owned(docker: &Docker, run: &RunIdentity, container: &str) -> Result<()> {
    let info = match docker.inspect_container(container, None).await {
        Ok(i) => i,
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => {
            return Err(Error::bad_input(
                "target_not_owned",
                format!(
                    "Refusing target {container}: no such container was provisioned by this run."
                ),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let labels = info.config.and_then(|c| c.labels).unwrap_or_default();
    let ours = labels.get(LABEL_HARNESS).map(String::as_str) == Some(LABEL_HARNESS_VALUE)
        && labels.get(LABEL_RUN) == Some(&run.run_id);
    if !ours {
        return Err(Error::bad_input(
            "target_not_owned",
            format!("Refusing target {container}: it was not provisioned by this run ({}), so the harness will not write to it.", run.run_id),
        )
        .with_hint("The harness only migrates databases inside containers it created itself; it never writes to a production server."));
    }
    Ok(())
}
