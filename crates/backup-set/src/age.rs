//! The backup's age at the migration start: the dump header's wall-clock creation time made an
//! instant in the source's time zone (an option, the backup set's record, the file name's stamp).
//!
//! pg_dump writes `localtime()` of its own process into the header (see
//! [`crate::dumpinfo::DumpInfo::created`]), so `docker exec postgres pg_dump …` writes the source
//! container's local time (its `TZ`). Nothing in the archive says which zone that was; reading it
//! as UTC gives a wrong age for any other zone. So the zone must come from something that knows
//! it, and when nothing does the age is unknown: never assumed.

use std::path::Path;

use chrono::{DateTime, Duration, FixedOffset, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, Tz};
use serde::Serialize;

pub const DEFAULT_MAX_AGE_MINUTES: i64 = 60;

/// How far the header may lie after the start (clocks of two hosts) before it is refused.
pub const CLOCK_SKEW: Duration = Duration::seconds(60);

/// The line `dryrun backup` writes into its `*_pg_dump_*.log`: the source container's own clock,
/// read with `date` right before and right after `pg_dump -F c` (see `backup.rs`).
pub const RECORD_PREFIX: &str = "# source clock ";

/// One place the source's zone was learnt from, and the creation instant it gives.
#[derive(Debug, Clone, Serialize)]
pub struct ZoneFinding {
    /// `--source-timezone Europe/Berlin`, `directus_pg_dump_….log`, `file name stamp …`.
    pub source: String,
    /// The creation instant this source gives, or why it gives none.
    pub created_utc: Option<DateTime<Utc>>,
    pub offset: Option<String>,
    pub note: Option<String>,
}

/// What is known about the zone: the explicit option, the backup set's record, the file name.
#[derive(Debug, Clone, Default)]
pub struct ZoneSources {
    /// `--source-timezone`: an IANA name (DST rules from the tz database compiled in).
    pub explicit: Option<Tz>,
    /// The source container's clock as `dryrun backup` recorded it: (log file, before, after).
    pub record: Option<ClockRecord>,
    /// The dump's file name, for a SPEC §2 stamp `directus_full_<UTC>.dump`.
    pub file_name: Option<String>,
}

/// The source container's clock read right before and after pg_dump wrote the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockRecord {
    pub file: String,
    pub before: DateTime<FixedOffset>,
    pub after: DateTime<FixedOffset>,
}

/// Why the age is not known or not accepted: the criterion's failure kind and sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeProblem {
    pub kind: &'static str,
    pub reason: String,
}

/// Parse the IANA name of `--source-timezone` (`UTC`, `Europe/Berlin`, `Asia/Tokyo`).
pub fn parse_zone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>().map_err(|_| {
        format!(
            "{name:?} is not an IANA time zone name (e.g. UTC, Europe/Berlin, America/New_York)"
        )
    })
}

/// Read the clock record of a `dryrun backup` log (two `# source clock` lines), if it has one.
pub fn read_record(log: &Path) -> Option<ClockRecord> {
    let text = std::fs::read_to_string(log).ok()?;
    parse_record(&text, &log.file_name()?.to_string_lossy())
}

/// The clock record of a backup set: in the `*_pg_dump_*.log` its SHA256SUMS lists.
pub fn record_in_set(sums: &Path) -> Option<ClockRecord> {
    let entries = crate::checksum::parse_sums(sums).ok()?;
    let dir = sums
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    entries
        .iter()
        .filter(|e| e.file.contains("_pg_dump_") && e.file.ends_with(".log"))
        .find_map(|e| read_record(&dir.join(&e.file)))
}

/// [`read_record`] on the text: `# source clock before: <RFC 3339>` and `… after: …`.
pub fn parse_record(text: &str, file: &str) -> Option<ClockRecord> {
    let find = |which: &str| {
        text.lines()
            .filter_map(|l| l.strip_prefix(RECORD_PREFIX))
            .filter_map(|l| l.strip_prefix(which))
            .filter_map(|l| l.strip_prefix(": "))
            .find_map(|v| {
                DateTime::parse_from_str(v.split_whitespace().next()?, "%Y-%m-%dT%H:%M:%S%z").ok()
            })
    };
    Some(ClockRecord {
        file: file.to_string(),
        before: find("before")?,
        after: find("after")?,
    })
}

/// The UTC stamp of a SPEC §2 file name (`directus_full_20261204T150700Z.dump`, also
/// `…_2026-12-04T15:07:00Z…`, `…_20261204T1507Z…`): only a stamp ending in `Z` says UTC.
pub fn file_name_stamp(name: &str) -> Option<DateTime<Utc>> {
    let re =
        regex::Regex::new(r"(\d{4})-?(\d{2})-?(\d{2})[T_](\d{2}):?(\d{2})(?::?(\d{2}))?Z").ok()?;
    let c = re.captures(name)?;
    let n = |i: usize| c.get(i).map_or(Some(0), |m| m.as_str().parse::<u32>().ok());
    let date = chrono::NaiveDate::from_ymd_opt(n(1)? as i32, n(2)?, n(3)?)?;
    Some(Utc.from_utc_datetime(&date.and_hms_opt(n(4)?, n(5)?, n(6)?)?))
}

fn fmt_offset(o: FixedOffset) -> String {
    let s = o.local_minus_utc();
    let sign = if s < 0 { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", s.abs() / 3600, s.abs() % 3600 / 60)
}

/// The header's local time in an IANA zone; an ambiguous fall-back hour is decided by the
/// header's `tm_isdst`, a time that zone skipped (spring-forward gap) gives none.
pub fn in_zone(local: NaiveDateTime, dst: Option<bool>, tz: Tz) -> Result<DateTime<Utc>, String> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => {
            let is_dst = |t: &DateTime<Tz>| t.offset().dst_offset() != Duration::zero();
            match dst {
                Some(d) if is_dst(&a) == d => Ok(a.with_timezone(&Utc)),
                Some(d) if is_dst(&b) == d => Ok(b.with_timezone(&Utc)),
                _ => Err(format!(
                    "{local} occurs twice in {tz} (the hour DST ends) and the header does not say which"
                )),
            }
        }
        LocalResult::None => Err(format!(
            "{local} does not exist in {tz} (skipped when DST starts): the header was not written in {tz}"
        )),
    }
}

/// What each source says the creation instant is.
pub fn findings(local: NaiveDateTime, dst: Option<bool>, s: &ZoneSources) -> Vec<ZoneFinding> {
    let mut out = Vec::new();
    if let Some(tz) = s.explicit {
        let r = in_zone(local, dst, tz);
        out.push(ZoneFinding {
            source: format!("--source-timezone {tz}"),
            offset: r
                .as_ref()
                .ok()
                .map(|t| fmt_offset(t.with_timezone(&tz).offset().fix())),
            created_utc: r.as_ref().ok().copied(),
            note: r.err(),
        });
    }
    if let Some(rec) = &s.record {
        let (ob, oa) = (*rec.before.offset(), *rec.after.offset());
        let f = if ob != oa {
            ZoneFinding {
                source: format!("{} (dryrun backup's record)", rec.file),
                created_utc: None,
                offset: None,
                note: Some(format!(
                    "the source's UTC offset changed while pg_dump ran ({} before, {} after)",
                    fmt_offset(ob),
                    fmt_offset(oa)
                )),
            }
        } else {
            let created = (local - Duration::seconds(ob.local_minus_utc() as i64)).and_utc();
            // The header's instant lies between the two readings of the same clock.
            let inside = created + Duration::seconds(1) >= rec.before.with_timezone(&Utc)
                && created <= rec.after.with_timezone(&Utc) + Duration::seconds(1);
            ZoneFinding {
                source: format!("{} (dryrun backup's record)", rec.file),
                created_utc: Some(created),
                offset: Some(fmt_offset(ob)),
                note: (!inside).then(|| {
                    format!(
                        "the header's time {local} at {} is not between the recorded readings {} and {}",
                        fmt_offset(ob),
                        rec.before.to_rfc3339(),
                        rec.after.to_rfc3339()
                    )
                }),
            }
        };
        out.push(f);
    }
    if let Some(stamp) = s.file_name.as_deref().and_then(file_name_stamp) {
        // The stamp is taken when the command starts; pg_dump opens the archive right after, so
        // header − stamp is the zone's offset, to a whole quarter hour.
        let diff = (local - stamp.naive_utc()).num_seconds();
        let q = 15 * 60;
        let offset = (diff as f64 / q as f64).round() as i64 * q;
        let residual = diff - offset;
        let name = s.file_name.clone().unwrap_or_default();
        let agrees = residual.abs() <= 5 * 60 && offset.abs() <= 14 * 3600;
        out.push(ZoneFinding {
            source: format!("file name stamp of {name}"),
            created_utc: agrees.then(|| (local - Duration::seconds(offset)).and_utc()),
            offset: agrees
                .then(|| FixedOffset::east_opt(offset as i32).map(fmt_offset))
                .flatten(),
            note: (!agrees).then(|| {
                format!(
                    "its UTC stamp {} is {} s from the header's {local}, not a whole time-zone offset: not used",
                    stamp.format("%Y-%m-%dT%H:%M:%SZ"),
                    diff
                )
            }),
        });
    }
    out
}

/// The creation instant all usable sources agree on; unknown when none is usable, refused when
/// two disagree (both named).
pub fn resolve(
    local: Option<NaiveDateTime>,
    dst: Option<bool>,
    s: &ZoneSources,
) -> Result<(DateTime<Utc>, Vec<ZoneFinding>), AgeProblem> {
    let local = local.ok_or_else(|| AgeProblem {
        kind: "backup_age_unknown",
        reason: "the dump's header carries no valid creation time".into(),
    })?;
    let all = findings(local, dst, s);
    // A record whose readings do not bracket the header describes another dump: a disagreement.
    if let Some(f) = all
        .iter()
        .find(|f| f.created_utc.is_some() && f.note.is_some())
    {
        return Err(AgeProblem {
            kind: "source_timezone_disagrees",
            reason: format!("{}: {}", f.source, f.note.clone().unwrap_or_default()),
        });
    }
    let usable: Vec<&ZoneFinding> = all.iter().filter(|f| f.created_utc.is_some()).collect();
    if let Some(tz_err) = all
        .iter()
        .find(|f| f.source.starts_with("--source-timezone") && f.created_utc.is_none())
    {
        return Err(AgeProblem {
            kind: "source_timezone_mismatch",
            reason: format!(
                "{}: {}",
                tz_err.source,
                tz_err.note.clone().unwrap_or_default()
            ),
        });
    }
    let Some(first) = usable.first() else {
        let why: Vec<String> = all
            .iter()
            .filter_map(|f| f.note.as_ref().map(|n| format!("{}: {n}", f.source)))
            .collect();
        return Err(AgeProblem {
            kind: "backup_age_unknown",
            reason: format!(
                "the header's creation time {local} is the source's local time and its time zone is unknown{}; pass --source-timezone <IANA name> (the TZ of the source container's pg_dump, e.g. UTC or Europe/Berlin), or take the backup with `dryrun backup` (it records the source's clock), or keep the SPEC §2 UTC stamp in the dump's file name",
                if why.is_empty() { String::new() } else { format!(" ({})", why.join("; ")) }
            ),
        });
    };
    let c = first.created_utc.unwrap_or_default();
    if let Some(other) = usable.iter().find(|f| f.created_utc != Some(c)) {
        let show = |f: &ZoneFinding| {
            format!(
                "{} says {} (UTC{})",
                f.source,
                f.created_utc
                    .map_or("?".into(), |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                f.offset.clone().unwrap_or_default()
            )
        };
        return Err(AgeProblem {
            kind: "source_timezone_disagrees",
            reason: format!(
                "the sources of the time zone disagree about the header's {local}: {} but {}",
                show(first),
                show(other)
            ),
        });
    }
    Ok((c, all))
}

/// The decision at one instant: stop when the backup is older than `limit` at `at`, or when
/// its creation lies after `at` by more than [`CLOCK_SKEW`]. Returns the age.
pub fn decide(
    created: DateTime<Utc>,
    at: DateTime<Utc>,
    limit: Duration,
) -> Result<Duration, AgeProblem> {
    let age = at - created;
    let show = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    if age > limit {
        return Err(AgeProblem {
            kind: "backup_too_old",
            reason: format!(
                "the backup was created {}, {} before the migration start {}; the limit is {} min",
                show(created),
                human(age),
                show(at),
                limit.num_minutes()
            ),
        });
    }
    if age < -CLOCK_SKEW {
        return Err(AgeProblem {
            kind: "backup_in_future",
            reason: format!(
                "the backup's creation time {} is {} after the migration start {}: a wrong source time zone or clock",
                show(created),
                human(-age),
                show(at)
            ),
        });
    }
    Ok(age)
}

/// `59 min 59 s`, `1 h 0 min 1 s`.
pub fn human(d: Duration) -> String {
    let s = d.num_seconds();
    let (h, m, sec) = (s / 3600, s % 3600 / 60, s % 60);
    if h > 0 {
        format!("{h} h {m} min {sec} s")
    } else {
        format!("{m} min {sec} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn n(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }
    const H: Duration = Duration::minutes(60);

    #[test]
    fn boundary_at_exact_instants() {
        let c = t("2026-12-04T15:00:00Z");
        assert_eq!(
            decide(c, t("2026-12-04T15:59:59Z"), H).unwrap(),
            Duration::seconds(3599)
        );
        assert!(
            decide(c, t("2026-12-04T16:00:00Z"), H).is_ok(),
            "60:00 is not older than 60 min"
        );
        let e = decide(c, t("2026-12-04T16:00:01Z"), H).unwrap_err();
        assert_eq!(e.kind, "backup_too_old");
        assert!(e.reason.contains("1 h 0 min 1 s"), "{}", e.reason);
        assert_eq!(
            decide(c, t("2026-12-04T14:59:00Z"), H).unwrap(),
            Duration::seconds(-60)
        );
        assert_eq!(
            decide(c, t("2026-12-04T14:58:59Z"), H).unwrap_err().kind,
            "backup_in_future"
        );
    }

    #[test]
    fn non_utc_sources_get_the_right_instant() {
        // 10:30 on a New York clock in December (EST, UTC−5) is 15:30 UTC.
        let ny = ZoneSources {
            explicit: Some(parse_zone("America/New_York").unwrap()),
            ..Default::default()
        };
        assert_eq!(
            resolve(Some(n("2026-12-04 10:30:00")), Some(false), &ny)
                .unwrap()
                .0,
            t("2026-12-04T15:30:00Z")
        );
        // In July New York is on EDT (UTC−4).
        assert_eq!(
            resolve(Some(n("2026-07-04 10:30:00")), Some(true), &ny)
                .unwrap()
                .0,
            t("2026-07-04T14:30:00Z")
        );
        let tokyo = ZoneSources {
            explicit: Some(parse_zone("Asia/Tokyo").unwrap()),
            ..Default::default()
        };
        assert_eq!(
            resolve(Some(n("2026-12-05 00:30:00")), Some(false), &tokyo)
                .unwrap()
                .0,
            t("2026-12-04T15:30:00Z")
        );
    }

    #[test]
    fn no_source_of_the_zone_is_unknown_never_utc() {
        let e = resolve(
            Some(n("2026-12-04 15:30:00")),
            Some(false),
            &ZoneSources::default(),
        )
        .unwrap_err();
        assert_eq!(e.kind, "backup_age_unknown");
        assert!(e.reason.contains("--source-timezone"), "{}", e.reason);
        let name = ZoneSources {
            file_name: Some("directus_full_fixture.dump".into()),
            ..Default::default()
        };
        assert_eq!(
            resolve(Some(n("2026-12-04 15:30:00")), None, &name)
                .unwrap_err()
                .kind,
            "backup_age_unknown"
        );
        assert_eq!(
            resolve(None, None, &ZoneSources::default())
                .unwrap_err()
                .kind,
            "backup_age_unknown"
        );
    }

    #[test]
    fn ambiguous_and_skipped_local_times() {
        let berlin = ZoneSources {
            explicit: Some(parse_zone("Europe/Berlin").unwrap()),
            ..Default::default()
        };
        // 2026-10-25 02:30 happens twice in Berlin: CEST (UTC+2) first, then CET (UTC+1).
        let l = Some(n("2026-10-25 02:30:00"));
        assert_eq!(
            resolve(l, Some(true), &berlin).unwrap().0,
            t("2026-10-25T00:30:00Z")
        );
        assert_eq!(
            resolve(l, Some(false), &berlin).unwrap().0,
            t("2026-10-25T01:30:00Z")
        );
        assert_eq!(
            resolve(l, None, &berlin).unwrap_err().kind,
            "source_timezone_mismatch"
        );
        // 2026-03-29 02:30 never happens in Berlin.
        assert_eq!(
            resolve(Some(n("2026-03-29 02:30:00")), Some(false), &berlin)
                .unwrap_err()
                .kind,
            "source_timezone_mismatch"
        );
    }

    #[test]
    fn file_name_stamp_and_record_agree_or_are_named() {
        assert_eq!(
            file_name_stamp("directus_full_20261204T153000Z.dump"),
            Some(t("2026-12-04T15:30:00Z"))
        );
        assert_eq!(
            file_name_stamp("directus_full_2026-12-04T15:30:00Z.dump"),
            Some(t("2026-12-04T15:30:00Z"))
        );
        assert_eq!(file_name_stamp("directus_full_fixture.dump"), None);
        // Tokyo header, stamp 2 s earlier: offset +09:00.
        let s = ZoneSources {
            file_name: Some("directus_full_20261204T152958Z.dump".into()),
            ..Default::default()
        };
        let (c, f) = resolve(Some(n("2026-12-05 00:30:00")), None, &s).unwrap();
        assert_eq!(c, t("2026-12-04T15:30:00Z"));
        assert_eq!(f[0].offset.as_deref(), Some("+09:00"));
        // The same file name but a zone that says otherwise: both named.
        let both = ZoneSources {
            explicit: Some(Tz::UTC),
            ..s.clone()
        };
        let e = resolve(Some(n("2026-12-05 00:30:00")), None, &both).unwrap_err();
        assert_eq!(e.kind, "source_timezone_disagrees");
        assert!(
            e.reason.contains("--source-timezone UTC") && e.reason.contains("file name stamp"),
            "{}",
            e.reason
        );
        // The backup's record: Tokyo clock around the dump.
        let text = "# pg_dump -F c\n# source clock before: 2026-12-05T00:29:59+0900 (date in the source container)\n# source clock after: 2026-12-05T00:30:07+0900\n";
        let rec = parse_record(text, "directus_pg_dump_x.log").unwrap();
        let r = ZoneSources {
            record: Some(rec.clone()),
            ..Default::default()
        };
        assert_eq!(
            resolve(Some(n("2026-12-05 00:30:00")), Some(false), &r)
                .unwrap()
                .0,
            t("2026-12-04T15:30:00Z")
        );
        // A header outside the recorded readings belongs to another dump.
        assert_eq!(
            resolve(Some(n("2026-12-05 01:30:00")), None, &r)
                .unwrap_err()
                .kind,
            "source_timezone_disagrees"
        );
    }
}
