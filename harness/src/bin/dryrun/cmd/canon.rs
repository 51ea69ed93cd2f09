//! `dryrun canon`: canonicalize a file (canon-md-v0.1.0) and print its digest and tokens, or
//! check a vectors file.

use harness::error::ErrorKind;
use harness::error::{exit, Error, Result};

use super::cli::CanonArgs;

pub async fn command(args: CanonArgs) -> Result<u8> {
    let CanonArgs {
        file,
        vectors,
        json,
    } = args;
    if let Some(v) = vectors {
        let r = canon_md::vectors::check_file(&v)
            .map_err(|e| Error::new(ErrorKind::VectorsMalformed, e.to_string()))?;
        print!("{}", r.render());
        return Ok(if r.failed() == 0 {
            exit::OK
        } else {
            exit::CHECK_FAILED
        });
    }
    // clap guarantees one of FILE / --vectors (usage error, exit 2, otherwise).
    let f = file.ok_or_else(|| {
        Error::new(
            ErrorKind::Usage,
            "neither a file nor --vectors reached canon",
        )
    })?;
    let bytes = std::fs::read(&f).map_err(|e| Error::io(&f, "read", e))?;
    let c = canon_md::canonicalize(&bytes)
        .map_err(|e| Error::new(ErrorKind::CanonError, format!("{}: {e}", f.display())))?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&c)
                .map_err(|e| Error::new(ErrorKind::Json, e.to_string()))?
        );
    } else {
        println!(
            "canonical_sha256 {}  tokens {}  rule {}",
            c.sha256_hex(),
            c.tokens().len(),
            canon_md::RULE
        );
        for t in c.tokens() {
            println!(
                "{}\t[{}, {})\t{}",
                t.position,
                t.byte_start,
                t.byte_end,
                c.token_text(t)
            );
        }
    }
    Ok(exit::OK)
}
