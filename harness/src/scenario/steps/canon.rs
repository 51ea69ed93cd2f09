//! Canonicalization steps (CTE-03): the `canon-md` test vectors (`canon_vectors`) and the
//! determinism of canonical forms stored in the database (`canon_determinism`).

use crate::error::Error;
use crate::error::ErrorKind;

use crate::scenario::context::*;
use crate::scenario::model::*;
use crate::scenario::steps::{StepError, StepKind};

/// `canon_vectors`: the canonicalization test vectors of a file, pass/fail counts as expected.
pub struct CanonVectorsKind;

impl StepKind for CanonVectorsKind {
    const NAME: &'static str = "canon_vectors";
    const READS_ONLY: bool = true;
    type Params = CanonVectorsStep;
    type Observation = VectorsObservation;

    async fn run(
        p: &CanonVectorsStep,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<VectorsObservation, StepError> {
        let path = ctx.suite.repo.join(&p.file);
        let r = canon_md::vectors::check_file(&path).map_err(|e| e.to_string())?;
        if r.passed() != p.expect_passed || r.failed() != p.expect_failed {
            return Err(StepError::from(format!(
                "vectors: {} (expected {} passed, {} failed)\n{}",
                r.summary(),
                p.expect_passed,
                p.expect_failed,
                r.render()
            )));
        }
        Ok(VectorsObservation {
            file: p.file.clone(),
            summary: r.summary(),
            rule: canon_md::RULE,
        })
    }
}

/// `canon_determinism`: canonical forms and their digests stable across runs and sessions.
pub struct CanonDeterminismKind;

impl StepKind for CanonDeterminismKind {
    const NAME: &'static str = "canon_determinism";
    const READS_ONLY: bool = false;
    type Params = CanonDeterminismStep;
    type Observation = DeterminismObservation;

    async fn run(
        p: &CanonDeterminismStep,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<DeterminismObservation, StepError> {
        ctx.canon_determinism(p).await
    }
}

/// A document the canonicalization refused: the step fails with its error.
fn refused(e: canon_md::CanonError) -> StepError {
    StepError::Failed(e.to_string())
}

/// Where two canonical forms first differ: `byte N` or `token N`, or `None` when equal byte
/// for byte and token for token.
fn first_difference(a: &canon_md::Canonical, b: &canon_md::Canonical) -> Option<String> {
    if a.bytes() != b.bytes() {
        let at = a
            .bytes()
            .iter()
            .zip(b.bytes())
            .position(|(x, y)| x != y)
            .unwrap_or_else(|| a.len().min(b.len()));
        return Some(format!("byte {at} ({} vs {} bytes)", a.len(), b.len()));
    }
    if a.tokens() != b.tokens() {
        let at = a
            .tokens()
            .iter()
            .zip(b.tokens())
            .position(|(x, y)| x != y)
            .unwrap_or_else(|| a.tokens().len().min(b.tokens().len()));
        return Some(format!(
            "token {at} ({} vs {} tokens)",
            a.tokens().len(),
            b.tokens().len()
        ));
    }
    None
}

/// The token positions of a canonical form, as stored in the round-trip table.
fn positions(c: &canon_md::Canonical) -> Vec<(usize, usize)> {
    c.tokens()
        .iter()
        .map(|t| (t.byte_start, t.byte_end))
        .collect()
}

/// A property computed over every document: the first document (and where) it fails for.
struct Property {
    name: &'static str,
    first_failure: Option<String>,
}

impl Property {
    fn new(name: &'static str) -> Self {
        Property {
            name,
            first_failure: None,
        }
    }
    fn check(&mut self, n: usize, diff: Option<String>) {
        if let (None, Some(d)) = (&self.first_failure, diff) {
            self.first_failure = Some(format!("document {n}: {d}"));
        }
    }
    fn holds(&self) -> bool {
        self.first_failure.is_none()
    }
    /// The step's failure when the scenario expected otherwise.
    fn expect(&self, want: bool) -> Result<(), StepError> {
        match (want, &self.first_failure) {
            (true, Some(f)) => Err(StepError::Failed(format!(
                "{} does not hold: {f}",
                self.name
            ))),
            (false, None) => Err(StepError::Failed(format!(
                "{} holds for every document, expected it not to",
                self.name
            ))),
            _ => Ok(()),
        }
    }
}

impl Ctx<'_> {
    /// Two independent canonicalizations of every document (each run from its own read of
    /// the source, on its own connection, into its own buffers), compared byte for byte and
    /// token for token; each canonical form canonicalized again; each stored in the database
    /// and read back. The three properties are computed, then held to the scenario's expect.
    async fn canon_determinism(
        &mut self,
        d: &CanonDeterminismStep,
    ) -> std::result::Result<DeterminismObservation, StepError> {
        // Run A: the scenario's connection.
        let rows_a = self
            .client()?
            .query(d.source_sql.as_str(), &[])
            .await
            .map_err(Error::from)?;
        let mut run_a = Vec::with_capacity(rows_a.len());
        for row in &rows_a {
            let body: String = row.try_get(0).map_err(Error::from)?;
            run_a.push(canon_md::canonicalize(body.as_bytes()).map_err(refused)?);
        }
        drop(rows_a);
        // Run B: a fresh connection, a second read of the source (a database round trip of
        // the input), new buffers.
        let other = self.connect_db().await?;
        let rows_b = other
            .query(d.source_sql.as_str(), &[])
            .await
            .map_err(Error::from)?;
        let mut run_b = Vec::with_capacity(rows_b.len());
        for row in &rows_b {
            let body: Vec<u8> = row
                .try_get::<_, String>(0)
                .map_err(Error::from)?
                .into_bytes();
            run_b.push(canon_md::canonicalize(&body).map_err(refused)?);
        }
        drop(rows_b);
        if run_a.is_empty() {
            return Err(StepError::Failed(
                "the source query returned no document: determinism of nothing proves nothing"
                    .into(),
            ));
        }
        if run_a.len() != run_b.len() {
            return Err(StepError::Failed(format!(
                "the source query returned {} documents, then {}: the runs cannot be compared",
                run_a.len(),
                run_b.len()
            )));
        }
        let mut deterministic = Property::new("deterministic (two runs identical)");
        let mut idempotent = Property::new("idempotent (canonical form canonicalizes to itself)");
        let mut stable = Property::new("round_trip_stable (stored and read back unchanged)");
        for (n, (a, b)) in run_a.iter().zip(&run_b).enumerate() {
            deterministic.check(n, first_difference(a, b));
            let again = canon_md::canonicalize(a.bytes()).map_err(refused)?;
            idempotent.check(n, first_difference(a, &again));
        }
        // Round trip: each canonical form and its positions stored, read back on the other
        // connection, canonicalized again from the stored text.
        let client = self.client()?;
        client
            .batch_execute("CREATE TABLE public.canon_round_trip (n int PRIMARY KEY, canonical text NOT NULL, tokens jsonb NOT NULL)")
            .await
            .map_err(Error::from)?;
        for (n, a) in run_a.iter().enumerate() {
            let toks = serde_json::to_value(positions(a)).map_err(|e| {
                Error::new(
                    ErrorKind::TokenPositions,
                    format!("token positions as JSON: {e}"),
                )
            })?;
            client
                .execute(
                    "INSERT INTO public.canon_round_trip VALUES ($1, $2, $3)",
                    &[&(n as i32), &a.text(), &toks],
                )
                .await
                .map_err(Error::from)?;
        }
        let back = other
            .query(
                "SELECT n, canonical, tokens FROM public.canon_round_trip ORDER BY n",
                &[],
            )
            .await
            .map_err(Error::from)?;
        client
            .batch_execute("DROP TABLE public.canon_round_trip")
            .await
            .map_err(Error::from)?;
        if back.len() != run_a.len() {
            return Err(StepError::Failed(format!(
                "{} documents stored, {} read back",
                run_a.len(),
                back.len()
            )));
        }
        for (n, row) in back.iter().enumerate() {
            let text: String = row.get(1);
            let stored: Option<Vec<(usize, usize)>> =
                serde_json::from_value(row.get::<_, serde_json::Value>(2)).ok();
            let c = canon_md::canonicalize(text.as_bytes()).map_err(refused)?;
            let a = &run_a[n];
            let diff = first_difference(a, &c).or_else(|| {
                (stored.as_ref() != Some(&positions(a)))
                    .then(|| "stored token positions changed".to_string())
            });
            stable.check(n, diff);
        }
        self.evidence(serde_json::json!({
            "documents": run_a.len(),
            "tokens": run_a.iter().map(|c| c.tokens().len()).sum::<usize>(),
            "canonical_bytes": run_a.iter().map(|c| c.len()).sum::<usize>(),
            "deterministic": deterministic.holds(),
            "idempotent": idempotent.holds(),
            "round_trip_stable": stable.holds(),
        }));
        deterministic.expect(d.expect.deterministic)?;
        idempotent.expect(d.expect.idempotent)?;
        stable.expect(d.expect.round_trip_stable)?;
        Ok(DeterminismObservation {})
    }
}

/// Documents canonicalized in two independent runs, again from their canonical form and
/// after a round trip through the database: the three properties are computed and held to
/// the scenario's `expect` (else the step failed, naming the first document); their values
/// and the counts are evidence.
#[derive(Debug, serde::Serialize)]
pub struct DeterminismObservation {}

/// The vectors file checked, its summary and the rule version.
#[derive(Debug, serde::Serialize)]
pub struct VectorsObservation {
    pub file: String,
    pub summary: String,
    pub rule: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Equal forms compare equal; different ones name the first differing byte, and a
    /// property that fails for one document fails an expectation that it holds.
    #[test]
    fn differences_are_found_and_named() {
        let c = |s: &str| canon_md::canonicalize(s.as_bytes()).expect("canonical");
        assert_eq!(first_difference(&c("a b\n"), &c("a b\n")), None);
        let d = first_difference(&c("a b\n"), &c("a c\n")).expect("differs");
        assert!(d.starts_with("byte 2"), "{d}");
        let mut p = Property::new("deterministic");
        p.check(0, None);
        p.check(3, Some(d));
        assert!(!p.holds());
        let e = p.expect(true).expect_err("fails").to_string();
        assert!(e.contains("document 3: byte 2"), "{e}");
        assert!(p.expect(false).is_ok());
        assert!(Property::new("x").expect(false).is_err());
    }
}
