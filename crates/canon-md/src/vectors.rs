//! Checker for reference vector files of `canon-md-v0.1.0` (e.g. the fixtures file).
//! Owns the vectors file format, its validation, and the per-vector pass/fail report.
//!
//! File format (JSON):
//!
//! ```json
//! {"rule": "canon-md-v0.1.0",
//!  "vectors": [
//!   {"name": "plain", "input_hex": "…", "canonical_hex": "…", "canonical_sha256": "…",
//!    "tokens": [[0, 1], [2, 7]],
//!    "spans": [{"byte_span": [0, 1], "start_token_position": 0, "end_token_position": 0},
//!              {"byte_span": [7, 9], "error": "span_covers_no_token"}]},
//!   {"name": "invalid_utf8", "input_hex": "6f6bff", "error": "invalid_utf8"}]}
//! ```
//!
//! A vector has `name` and `input_hex`, and exactly one of `canonical_hex` (the input
//! must canonicalize to these bytes) or `error` (the input must be rejected with that
//! error name). `canonical_sha256`, `tokens` and `spans` are optional extra checks
//! (only with `canonical_hex`). Unknown fields are ignored. A file that breaks these
//! rules is *malformed*: [`check_file`] returns an error naming the file instead of a
//! report. A well-formed vector whose expectation is not met is a *failed* vector.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::{canonicalize, CanonError, Canonical, TokenSpan, RULE};

/// Outcome of one vector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VectorResult {
    /// The vector's `name`.
    pub name: String,
    /// Whether every expectation of the vector held.
    pub passed: bool,
    /// For a failed vector, the first expectation that did not hold.
    pub first_difference: Option<String>,
}

/// `ok <name>` or `FAIL <name>: <first difference>`.
impl fmt::Display for VectorResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.first_difference, self.passed) {
            (Some(diff), false) => write!(f, "FAIL {}: {}", self.name, diff),
            (None, false) => write!(f, "FAIL {}", self.name),
            _ => write!(f, "ok {}", self.name),
        }
    }
}

/// Outcome of a whole vectors file, vectors in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VectorReport {
    /// The file's top-level `rule` (always equal to [`RULE`] in a report).
    pub rule: String,
    /// One result per vector, in file order.
    pub results: Vec<VectorResult>,
}

impl VectorReport {
    /// Number of vectors that passed.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.passed).count()
    }

    /// Number of vectors that failed.
    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }

    /// `true` iff no vector failed.
    pub fn all_passed(&self) -> bool {
        self.failed() == 0
    }

    /// The failed vectors, in file order.
    pub fn failures(&self) -> impl Iterator<Item = &VectorResult> {
        self.results.iter().filter(|r| !r.passed)
    }

    /// The closing line: `"N passed, M failed"`.
    pub fn summary(&self) -> String {
        format!("{} passed, {} failed", self.passed(), self.failed())
    }

    /// What a command line prints: one `FAIL <name>: <first difference>` line per
    /// failed vector, then the summary line; every line ends with `\n`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for failure in self.failures() {
            out.push_str(&failure.to_string());
            out.push('\n');
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }
}

/// A vectors file that could not be checked at all. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum VectorsError {
    /// The file could not be read.
    #[error("{}: cannot read vectors file: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a well-formed vectors file.
    #[error("{}: malformed vectors file: {detail}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong and where (vector index and name when known).
        detail: String,
    },
    /// The file's vectors are for another rule.
    #[error("{}: vectors are for rule {found:?}, this checker implements {RULE:?}", path.display())]
    RuleMismatch {
        /// The file.
        path: PathBuf,
        /// The file's `rule`.
        found: String,
    },
}

/// Reads and checks every vector of the file at `path`.
pub fn check_file(path: impl AsRef<Path>) -> Result<VectorReport, VectorsError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| VectorsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    check_bytes(&bytes, path)
}

/// Checks vectors given as JSON bytes; `origin` names the source in errors.
pub fn check_bytes(json: &[u8], origin: &Path) -> Result<VectorReport, VectorsError> {
    let malformed = |detail: String| VectorsError::Malformed {
        path: origin.to_path_buf(),
        detail,
    };
    let file = parse_file(json).map_err(malformed)?;
    if file.rule != RULE {
        return Err(VectorsError::RuleMismatch {
            path: origin.to_path_buf(),
            found: file.rule,
        });
    }
    let results = file.vectors.iter().map(run_vector).collect();
    Ok(VectorReport {
        rule: file.rule,
        results,
    })
}

// ---------------------------------------------------------------------------
// Parsing (all validation happens here, before any vector is run)
// ---------------------------------------------------------------------------

struct VectorsFile {
    rule: String,
    vectors: Vec<Vector>,
}

struct Vector {
    name: String,
    input: Vec<u8>,
    expect: Expect,
}

enum Expect {
    Error(String),
    Canonical {
        bytes: Vec<u8>,
        sha256: Option<String>,
        tokens: Option<Vec<(usize, usize)>>,
        spans: Vec<SpanCase>,
    },
}

struct SpanCase {
    start: usize,
    end: usize,
    expect: Result<(usize, usize), String>,
}

fn parse_file(json: &[u8]) -> Result<VectorsFile, String> {
    let root: Value = serde_json::from_slice(json).map_err(|e| format!("invalid JSON: {e}"))?;
    let root = root
        .as_object()
        .ok_or_else(|| "top level is not a JSON object".to_string())?;
    let rule = get_str(root, "rule", "top level")?.to_string();
    let list = root
        .get("vectors")
        .ok_or_else(|| "top level: missing field \"vectors\"".to_string())?
        .as_array()
        .ok_or_else(|| "top level: \"vectors\" is not an array".to_string())?;
    if list.is_empty() {
        return Err("top level: \"vectors\" is empty".to_string());
    }
    let mut names = HashSet::new();
    let mut vectors = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let vector = parse_vector(i, v)?;
        if !names.insert(vector.name.clone()) {
            return Err(format!(
                "vector #{i} {:?}: duplicate vector name",
                vector.name
            ));
        }
        vectors.push(vector);
    }
    Ok(VectorsFile { rule, vectors })
}

fn parse_vector(i: usize, v: &Value) -> Result<Vector, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!("vector #{i}: not a JSON object"))?;
    let anon = format!("vector #{i}");
    let name = get_str(obj, "name", &anon)?.to_string();
    let at = format!("vector #{i} {name:?}");
    let input = get_hex(obj, "input_hex", &at)?;
    let error = opt(obj, "error");
    let canonical = opt(obj, "canonical_hex");
    let expect = match (error, canonical) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "{at}: has both \"error\" and \"canonical_hex\" (exactly one is required)"
            ))
        }
        (None, None) => {
            return Err(format!(
                "{at}: has neither \"error\" nor \"canonical_hex\" (exactly one is required)"
            ))
        }
        (Some(_), None) => {
            for extra in ["canonical_sha256", "tokens", "spans"] {
                if opt(obj, extra).is_some() {
                    return Err(format!(
                        "{at}: \"{extra}\" is not allowed on a vector that expects an error"
                    ));
                }
            }
            Expect::Error(get_error_name(obj, "error", &at)?)
        }
        (None, Some(_)) => {
            let bytes = get_hex(obj, "canonical_hex", &at)?;
            let sha256 = match opt(obj, "canonical_sha256") {
                None => None,
                Some(_) => {
                    let s = get_str(obj, "canonical_sha256", &at)?;
                    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(format!("{at}: \"canonical_sha256\" is not 64 hex digits"));
                    }
                    Some(s.to_ascii_lowercase())
                }
            };
            let tokens = match opt(obj, "tokens") {
                None => None,
                Some(t) => {
                    let arr = t
                        .as_array()
                        .ok_or_else(|| format!("{at}: \"tokens\" is not an array"))?;
                    let mut out = Vec::with_capacity(arr.len());
                    for (k, pair) in arr.iter().enumerate() {
                        out.push(get_pair(pair, &format!("{at}: tokens[{k}]"))?);
                    }
                    Some(out)
                }
            };
            let spans = match opt(obj, "spans") {
                None => Vec::new(),
                Some(s) => {
                    let arr = s
                        .as_array()
                        .ok_or_else(|| format!("{at}: \"spans\" is not an array"))?;
                    let mut out = Vec::with_capacity(arr.len());
                    for (k, span) in arr.iter().enumerate() {
                        out.push(parse_span(span, &format!("{at}: spans[{k}]"))?);
                    }
                    out
                }
            };
            Expect::Canonical {
                bytes,
                sha256,
                tokens,
                spans,
            }
        }
    };
    Ok(Vector {
        name,
        input,
        expect,
    })
}

fn parse_span(v: &Value, at: &str) -> Result<SpanCase, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!("{at}: not a JSON object"))?;
    let span = obj
        .get("byte_span")
        .ok_or_else(|| format!("{at}: missing field \"byte_span\""))?;
    let (start, end) = get_pair(span, &format!("{at}.byte_span"))?;
    let has_positions =
        opt(obj, "start_token_position").is_some() || opt(obj, "end_token_position").is_some();
    let expect = match (opt(obj, "error").is_some(), has_positions) {
        (true, true) => {
            return Err(format!(
                "{at}: has both \"error\" and token positions (exactly one is required)"
            ))
        }
        (false, false) => {
            return Err(format!(
                "{at}: has neither \"error\" nor \"start_token_position\"/\"end_token_position\""
            ))
        }
        (true, false) => Err(get_error_name(obj, "error", at)?),
        (false, true) => Ok((
            get_usize(obj, "start_token_position", at)?,
            get_usize(obj, "end_token_position", at)?,
        )),
    };
    Ok(SpanCase { start, end, expect })
}

/// A present, non-null field.
fn opt<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn get_str<'a>(obj: &'a Map<String, Value>, key: &str, at: &str) -> Result<&'a str, String> {
    match obj.get(key) {
        None => Err(format!("{at}: missing field \"{key}\"")),
        Some(v) => v
            .as_str()
            .ok_or_else(|| format!("{at}: \"{key}\" is not a string")),
    }
}

fn get_hex(obj: &Map<String, Value>, key: &str, at: &str) -> Result<Vec<u8>, String> {
    let s = get_str(obj, key, at)?;
    hex::decode(s).map_err(|e| format!("{at}: \"{key}\" is not valid hex: {e}"))
}

fn get_error_name(obj: &Map<String, Value>, key: &str, at: &str) -> Result<String, String> {
    let s = get_str(obj, key, at)?;
    if CanonError::NAMES.contains(&s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{at}: \"{key}\" is {s:?}, not one of {:?}",
            CanonError::NAMES
        ))
    }
}

fn as_usize(v: &Value) -> Option<usize> {
    v.as_u64().and_then(|n| usize::try_from(n).ok())
}

fn get_usize(obj: &Map<String, Value>, key: &str, at: &str) -> Result<usize, String> {
    let v = obj
        .get(key)
        .ok_or_else(|| format!("{at}: missing field \"{key}\""))?;
    as_usize(v).ok_or_else(|| format!("{at}: \"{key}\" is not a non-negative integer"))
}

fn get_pair(v: &Value, at: &str) -> Result<(usize, usize), String> {
    match v.as_array().map(Vec::as_slice) {
        Some([a, b]) => match (as_usize(a), as_usize(b)) {
            (Some(a), Some(b)) => Ok((a, b)),
            _ => Err(format!("{at}: not a pair of non-negative integers")),
        },
        _ => Err(format!("{at}: not a [start, end] pair")),
    }
}

// ---------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------

fn run_vector(v: &Vector) -> VectorResult {
    let first_difference = first_difference(v).err();
    VectorResult {
        name: v.name.clone(),
        passed: first_difference.is_none(),
        first_difference,
    }
}

/// `Err(description)` of the first expectation that does not hold.
fn first_difference(v: &Vector) -> Result<(), String> {
    let got = canonicalize(&v.input);
    match (&v.expect, got) {
        (Expect::Error(want), Err(e)) if e.name() == want => Ok(()),
        (Expect::Error(want), Err(e)) => Err(format!("expected error {want}, got error {e}")),
        (Expect::Error(want), Ok(c)) => Err(format!(
            "expected error {want}, got canonical output ({} bytes, sha256 {})",
            c.len(),
            c.sha256_hex()
        )),
        (Expect::Canonical { .. }, Err(e)) => {
            Err(format!("expected canonical output, got error {e}"))
        }
        (
            Expect::Canonical {
                bytes,
                sha256,
                tokens,
                spans,
            },
            Ok(c),
        ) => {
            compare_bytes(bytes, c.bytes())?;
            if let Some(want) = sha256 {
                let got = c.sha256_hex();
                if *want != got {
                    return Err(format!("canonical_sha256: expected {want}, got {got}"));
                }
            }
            if let Some(want) = tokens {
                compare_tokens(want, &c)?;
            }
            for span in spans {
                compare_span(span, &c)?;
            }
            Ok(())
        }
    }
}

fn compare_bytes(want: &[u8], got: &[u8]) -> Result<(), String> {
    if want == got {
        return Ok(());
    }
    let at = want
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    let show = |b: Option<&u8>| b.map_or("end of bytes".to_string(), |b| format!("0x{b:02x}"));
    Err(format!(
        "canonical bytes differ at byte offset {at}: expected {}, got {} (expected {} bytes, got {})",
        show(want.get(at)),
        show(got.get(at)),
        want.len(),
        got.len()
    ))
}

fn compare_tokens(want: &[(usize, usize)], c: &Canonical) -> Result<(), String> {
    let got: Vec<(usize, usize)> = c
        .tokens()
        .iter()
        .map(|t| (t.byte_start, t.byte_end))
        .collect();
    for (k, (w, g)) in want.iter().zip(&got).enumerate() {
        if w != g {
            return Err(format!(
                "token {k}: expected [{}, {}), got [{}, {})",
                w.0, w.1, g.0, g.1
            ));
        }
    }
    if want.len() != got.len() {
        return Err(format!(
            "token count: expected {}, got {}",
            want.len(),
            got.len()
        ));
    }
    Ok(())
}

fn compare_span(span: &SpanCase, c: &Canonical) -> Result<(), String> {
    let got = c.span_to_tokens(span.start, span.end);
    let what = format!("span [{}, {})", span.start, span.end);
    let show = |r: &Result<TokenSpan, CanonError>| match r {
        Ok(t) => format!(
            "tokens {}..={}",
            t.start_token_position, t.end_token_position
        ),
        Err(e) => format!("error {}", e.name()),
    };
    let ok = match (&span.expect, &got) {
        (Ok((s, e)), Ok(t)) => *s == t.start_token_position && *e == t.end_token_position,
        (Err(name), Err(e)) => name == e.name(),
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let want = match &span.expect {
        Ok((s, e)) => format!("tokens {s}..={e}"),
        Err(name) => format!("error {name}"),
    };
    Err(format!("{what}: expected {want}, got {}", show(&got)))
}
