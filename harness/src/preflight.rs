//! Preflight checks before a migration starts: the backup's age, taken from the dump
//! archive's own creation time, against the allowed maximum (failure-stop, CTE-01).

use chrono::NaiveDateTime;

use crate::error::{Error, Result};

pub const DEFAULT_MAX_AGE_MINUTES: i64 = 60;

/// Stop when the backup is older than `max_age_minutes` at `now` (both in UTC).
pub fn check_backup_age(
    created: Option<NaiveDateTime>,
    now: NaiveDateTime,
    max_age_minutes: i64,
) -> Result<i64> {
    let created = created.ok_or_else(|| {
        Error::check(
            "backup_age_unknown",
            "The dump's header carries no creation time; its age cannot be checked.",
        )
    })?;
    let age = (now - created).num_minutes();
    if age > max_age_minutes {
        return Err(Error::check(
            "backup_too_old",
            format!("Preflight stop: the backup was created {created} UTC, {age} min before the migration start; the limit is {max_age_minutes} min."),
        )
        .with_hint("Take a fresh backup with `dryrun backup` right before the migration window."));
    }
    if age < 0 {
        return Err(Error::check("backup_in_future", format!("Preflight stop: the backup's creation time {created} is after the migration start {now}.")));
    }
    Ok(age)
}
