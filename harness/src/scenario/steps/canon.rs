//! Canonicalization steps (CTE-03): the `canon-md` test vectors (`canon_vectors`) and the
//! determinism of canonical forms stored in the database (`canon_determinism`).

use serde_json::{json, Value};

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
    type Observation = Value;

    async fn run(
        p: &CanonDeterminismStep,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<Value, StepError> {
        Ok(ctx.canon_determinism(p).await?)
    }
}

impl Ctx<'_> {
    async fn canon_determinism(&mut self, d: &CanonDeterminismStep) -> StepResult {
        let client = self.client()?;
        let rows = client
            .query(d.source_sql.as_str(), &[])
            .await
            .map_err(|e| e.to_string())?;
        let mut docs = 0usize;
        let mut tokens = 0usize;
        let mut bytes_total = 0usize;
        client
            .batch_execute("CREATE TEMP TABLE canon_round_trip (n int PRIMARY KEY, canonical text NOT NULL, tokens jsonb NOT NULL)")
            .await
            .map_err(|e| e.to_string())?;
        let mut expected = Vec::new();
        for (n, row) in rows.iter().enumerate() {
            let body: String = row.try_get(0).map_err(|e| e.to_string())?;
            let a = canon_md::canonicalize(body.as_bytes()).map_err(|e| e.to_string())?;
            let b = canon_md::canonicalize(body.as_bytes()).map_err(|e| e.to_string())?;
            if a.bytes() != b.bytes() || a.tokens() != b.tokens() {
                return Err(format!("document {n}: two runs differ"));
            }
            let again = canon_md::canonicalize(a.bytes()).map_err(|e| e.to_string())?;
            if again.bytes() != a.bytes() {
                return Err(format!("document {n}: not idempotent"));
            }
            let toks: Vec<(usize, usize)> = a
                .tokens()
                .iter()
                .map(|t| (t.byte_start, t.byte_end))
                .collect();
            client
                .execute(
                    "INSERT INTO canon_round_trip VALUES ($1, $2, $3)",
                    &[
                        &(n as i32),
                        &a.text(),
                        &serde_json::to_value(&toks).map_err(|e| e.to_string())?,
                    ],
                )
                .await
                .map_err(|e| e.to_string())?;
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
            .map_err(|e| e.to_string())?;
        for row in back {
            let n: i32 = row.get(0);
            let text: String = row.get(1);
            let stored: Value = row.get(2);
            let c = canon_md::canonicalize(text.as_bytes()).map_err(|e| e.to_string())?;
            let toks: Vec<(usize, usize)> = c
                .tokens()
                .iter()
                .map(|t| (t.byte_start, t.byte_end))
                .collect();
            let (sha, exp) = &expected[n as usize];
            if &c.sha256_hex() != sha
                || &toks != exp
                || serde_json::to_value(&toks).ok().as_ref() != Some(&stored)
            {
                return Err(format!(
                    "document {n}: positions changed across the database round trip"
                ));
            }
        }
        client
            .batch_execute("DROP TABLE canon_round_trip")
            .await
            .map_err(|e| e.to_string())?;
        Ok(
            json!({ "documents": docs, "tokens": tokens, "canonical_bytes": bytes_total, "deterministic": true, "idempotent": true, "round_trip_stable": true }),
        )
    }
}

/// The vectors file checked, its summary and the rule version.
#[derive(Debug, serde::Serialize)]
pub struct VectorsObservation {
    pub file: String,
    pub summary: String,
    pub rule: &'static str,
}
