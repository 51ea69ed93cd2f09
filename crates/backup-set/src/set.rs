//! The one front door of the backup set: [`BackupSet::verify`] reads and checks a dump, its
//! `SHA256SUMS` and its row-count snapshot in the order every front end refuses them (`dryrun
//! restore-test`, `dryrun env up`, `dryrun run`), all before any container exists.

use std::path::Path;

use crate::checks::{self, Checks, ChecksChoice, Need};
use crate::checksum::{self, FileRole, Progress, SumsCheck};
use crate::dumpinfo::{self, DumpInfo, Toc};
use crate::error::{Error, Result};
use crate::rowcounts::{self, RowCounts};

/// A backup set as a front end names it: the dump, its sums file and, when there is one, the
/// row-count snapshot.
#[derive(Debug, Clone, Copy)]
pub struct BackupSet<'a> {
    pub dump: &'a Path,
    pub sums: &'a Path,
    pub rowcounts: Option<&'a Path>,
}

/// What the dump's table of contents must hold, and how a refusal words it.
#[derive(Debug, Clone)]
pub enum Needs<'a> {
    /// The smoke checks of a restore test, loaded after the row counts; the refusal names the
    /// checks' source (`the checks in …`).
    Checks {
        choice: &'a ChecksChoice,
        /// The refusal's hint.
        way_out: &'a str,
    },
    /// A fixed list (e.g. [`checks::suite_needs`]), needed by `who`.
    Fixed {
        needs: Vec<Need>,
        who: &'a str,
        /// The refusal's hint.
        way_out: &'a str,
    },
}

/// A backup set that passed [`BackupSet::verify`].
#[derive(Debug, Clone)]
pub struct VerifiedSet {
    /// Every entry of the sums file with its verdict.
    pub sums: SumsCheck,
    /// The dump's header.
    pub info: DumpInfo,
    /// The row-count snapshot, parsed (when the set has one).
    pub counts: Option<RowCounts>,
    /// The checks loaded for [`Needs::Checks`]; `None` for [`Needs::Fixed`].
    pub checks: Option<Checks>,
    /// The dump's table of contents.
    pub toc: Toc,
    /// The notes so far: the sums file's, then a headerless snapshot's.
    pub notes: Vec<String>,
}

impl VerifiedSet {
    /// The dump's SHA-256, as verified against the sums file.
    pub fn dump_sha256(&self) -> String {
        self.sums
            .files
            .iter()
            .find(|f| f.role == FileRole::Dump)
            .map(|f| f.sha256.clone())
            .unwrap_or_default()
    }
}

impl BackupSet<'_> {
    /// [`BackupSet::verify_with`] with nothing between the checksums and the dump's header.
    pub fn verify(&self, needs: Needs<'_>, progress: &dyn Progress) -> Result<VerifiedSet> {
        self.verify_with(needs, progress, || Ok(()))
    }

    /// Verify the set in this order, refusing at the first problem: the sums file parsed;
    /// every listed file's checksum (the dump by name or as a renamed copy, the snapshot when
    /// listed, the others present in the sums file's folder); `after_checksums` (a front end's
    /// own check of what the sums file verified, e.g. the restore test's content-hash file);
    /// the dump's header; the row-count snapshot's format; the checks (for [`Needs::Checks`]);
    /// the dump's table of contents against what is needed.
    pub fn verify_with<E: From<Error>>(
        &self,
        needs: Needs<'_>,
        progress: &dyn Progress,
        after_checksums: impl FnOnce() -> Result<(), E>,
    ) -> Result<VerifiedSet, E> {
        let entries = checksum::parse_sums(self.sums)?;
        let sums = checksum::verify_set(self.sums, &entries, self.dump, self.rowcounts, progress)?;
        after_checksums()?;
        let info = dumpinfo::inspect(self.dump)?;
        let counts = match self.rowcounts {
            Some(p) => Some(RowCounts::parse_file(p)?),
            None => None,
        };
        let (checks, needs, who, way_out) = match needs {
            Needs::Checks { choice, way_out } => {
                let c = Checks::load(choice)?;
                let needs = c.needs();
                let who = format!("the checks in {}", c.source);
                (Some(c), needs, who, way_out)
            }
            Needs::Fixed {
                needs,
                who,
                way_out,
            } => (None, needs, who.to_string(), way_out),
        };
        let toc = dumpinfo::read_toc(self.dump)?;
        let missing = checks::missing(&toc, &needs);
        if !missing.is_empty() {
            return Err(checks::refuse_missing(self.dump, &who, &missing, way_out).into());
        }
        let mut notes = sums.notes.clone();
        if let Some((p, c)) = self.rowcounts.zip(counts.as_ref()) {
            if !c.kind_stated {
                notes.push(rowcounts::headerless_note(p));
            }
        }
        Ok(VerifiedSet {
            sums,
            info,
            counts,
            checks,
            toc,
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::Silent;
    use std::path::PathBuf;

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
    }

    /// The bundled fixture copied into a folder of its own (to tamper with).
    fn copy() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        for e in std::fs::read_dir(fixtures()).unwrap().flatten() {
            if e.path().is_file() {
                std::fs::copy(e.path(), t.path().join(e.file_name())).unwrap();
            }
        }
        let p = |n: &str| t.path().join(n);
        let (d, s, r) = (
            p("directus_full_fixture.dump"),
            p("SHA256SUMS"),
            p("directus_rowcounts_fixture.psv"),
        );
        (t, d, s, r)
    }

    #[test]
    fn the_bundled_fixture_passes_with_the_suite_and_the_bundled_checks() {
        let f = fixtures();
        let (d, s, r) = (
            f.join("directus_full_fixture.dump"),
            f.join("SHA256SUMS"),
            f.join("directus_rowcounts_fixture.psv"),
        );
        let set = BackupSet {
            dump: &d,
            sums: &s,
            rowcounts: Some(&r),
        };
        let v = set
            .verify(
                Needs::Fixed {
                    needs: checks::suite_needs(),
                    who: "the suite",
                    way_out: "",
                },
                &Silent,
            )
            .unwrap();
        assert!(v.checks.is_none() && v.counts.is_some());
        assert_eq!(v.dump_sha256().len(), 64);
        assert_eq!(v.sums.files.len(), 4);
        let v = set
            .verify(
                Needs::Checks {
                    choice: &ChecksChoice::Bundled,
                    way_out: "",
                },
                &Silent,
            )
            .unwrap();
        assert_eq!(v.checks.unwrap().source, checks::BUNDLED_NAME);
    }

    #[test]
    fn refusals_come_in_order_and_after_checksums_runs_between() {
        let (_t, d, s, r) = copy();
        let set = BackupSet {
            dump: &d,
            sums: &s,
            rowcounts: Some(&r),
        };
        let lacking = || Needs::Fixed {
            needs: vec![Need {
                relation: "public.nowhere".into(),
                why: "a test".into(),
            }],
            who: "the test",
            way_out: "the way out",
        };
        let e = set.verify(lacking(), &Silent).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::DumpLacksTables);
        assert!(e.message.contains("public.nowhere (a test)") && e.message.contains("the test"));
        assert_eq!(e.hint.as_deref(), Some("the way out"));
        // The hook runs after the checksums and before the header: its error comes first.
        let hook = || Err(Error::new(crate::ErrorKind::ChecksMalformed, "h"));
        assert_eq!(
            set.verify_with(lacking(), &Silent, hook).unwrap_err().kind,
            crate::ErrorKind::ChecksMalformed
        );
        // A tampered snapshot is refused by its checksum, before the hook.
        std::fs::write(&r, "public|dot_tools|1\n").unwrap();
        assert_eq!(
            set.verify_with(lacking(), &Silent, hook).unwrap_err().kind,
            crate::ErrorKind::ChecksumMismatch
        );
        // Not listed: not verified (a note); its format is read after the header.
        let listed = std::fs::read_to_string(&s).unwrap();
        let without: String = listed
            .lines()
            .filter(|l| !l.contains("rowcounts"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&s, without).unwrap();
        std::fs::write(&r, "public|dot_tools|x\n").unwrap();
        assert_eq!(
            set.verify(lacking(), &Silent).unwrap_err().kind,
            crate::ErrorKind::PsvMalformed
        );
        std::fs::write(&r, "public|dot_tools|1\n").unwrap();
        let suite = Needs::Fixed {
            needs: checks::suite_needs(),
            who: "the suite",
            way_out: "",
        };
        let v = set.verify(suite, &Silent).unwrap();
        assert!(v.notes[0].contains("is not listed"), "{:?}", v.notes);
        assert!(v.notes[1].contains("has no `# exact`"), "{:?}", v.notes);
    }
}
