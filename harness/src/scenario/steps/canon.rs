//! Canonicalization steps (CTE-03): the `canon-md` test vectors (`canon_vectors`) and the
//! determinism of canonical forms stored in the database (`canon_determinism`).

use crate::error::Error;

use crate::scenario::env::*;
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

impl Ctx<'_> {
    async fn canon_determinism(
        &mut self,
        d: &CanonDeterminismStep,
    ) -> std::result::Result<DeterminismObservation, StepError> {
        let client = self.client()?;
        let rows = client
            .query(d.source_sql.as_str(), &[])
            .await
            .map_err(Error::from)?;
        let mut docs = 0usize;
        let mut tokens = 0usize;
        let mut bytes_total = 0usize;
        client
            .batch_execute("CREATE TEMP TABLE canon_round_trip (n int PRIMARY KEY, canonical text NOT NULL, tokens jsonb NOT NULL)")
            .await
            .map_err(Error::from)?;
        let mut expected = Vec::new();
        for (n, row) in rows.iter().enumerate() {
            let body: String = row.try_get(0).map_err(Error::from)?;
            let a = canon_md::canonicalize(body.as_bytes()).map_err(refused)?;
            let b = canon_md::canonicalize(body.as_bytes()).map_err(refused)?;
            if a.bytes() != b.bytes() || a.tokens() != b.tokens() {
                return Err(StepError::Failed(format!("document {n}: two runs differ")));
            }
            let again = canon_md::canonicalize(a.bytes()).map_err(refused)?;
            if again.bytes() != a.bytes() {
                return Err(StepError::Failed(format!("document {n}: not idempotent")));
            }
            let toks: Vec<(usize, usize)> = a
                .tokens()
                .iter()
                .map(|t| (t.byte_start, t.byte_end))
                .collect();
            let toks_json = serde_json::to_value(&toks).map_err(|e| {
                Error::internal("token_positions", format!("token positions as JSON: {e}"))
            })?;
            client
                .execute(
                    "INSERT INTO canon_round_trip VALUES ($1, $2, $3)",
                    &[&(n as i32), &a.text(), &toks_json],
                )
                .await
                .map_err(Error::from)?;
            docs += 1;
            tokens += toks.len();
            bytes_total += a.len();
            expected.push((a.sha256_hex(), toks));
        }
        let back = client
            .query(
                "SELECT n, canonical, tokens FROM canon_round_trip ORDER BY n",
                &[],
            )
            .await
            .map_err(Error::from)?;
        for row in back {
            let n: i32 = row.get(0);
            let text: String = row.get(1);
            // The positions as the database returns them, decoded (jsonb of [start, end] pairs).
            let stored: Option<Vec<(usize, usize)>> =
                serde_json::from_value(row.get::<_, serde_json::Value>(2)).ok();
            let c = canon_md::canonicalize(text.as_bytes()).map_err(refused)?;
            let toks: Vec<(usize, usize)> = c
                .tokens()
                .iter()
                .map(|t| (t.byte_start, t.byte_end))
                .collect();
            let (sha, exp) = usize::try_from(n)
                .ok()
                .and_then(|i| expected.get(i))
                .ok_or_else(|| StepError::Failed(format!("document {n}: not written")))?;
            if &c.sha256_hex() != sha || &toks != exp || stored.as_ref() != Some(&toks) {
                return Err(StepError::Failed(format!(
                    "document {n}: positions changed across the database round trip"
                )));
            }
        }
        client
            .batch_execute("DROP TABLE canon_round_trip")
            .await
            .map_err(Error::from)?;
        if docs == 0 {
            return Err(StepError::Failed(
                "the source query returned no document: determinism of nothing proves nothing"
                    .into(),
            ));
        }
        self.evidence(serde_json::json!({
            "documents": docs,
            "tokens": tokens,
            "canonical_bytes": bytes_total,
        }));
        Ok(DeterminismObservation {
            deterministic: true,
            idempotent: true,
            round_trip_stable: true,
        })
    }
}

/// Documents canonicalized twice, again from their canonical form and after a round trip
/// through the database: the three properties (else the step failed); their counts are
/// evidence.
#[derive(Debug, serde::Serialize)]
pub struct DeterminismObservation {
    pub deterministic: bool,
    pub idempotent: bool,
    pub round_trip_stable: bool,
}

/// The vectors file checked, its summary and the rule version.
#[derive(Debug, serde::Serialize)]
pub struct VectorsObservation {
    pub file: String,
    pub summary: String,
    pub rule: &'static str,
}
