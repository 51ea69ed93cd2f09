//! psql's `--csv` output read as records (RFC 4180 quoting): a value holding a comma, a `|`,
//! a quote or a line break stays one field, whatever a schema, table or value is called.

use crate::error::{Error, ErrorKind, Result};

/// The records of `psql --csv -t` output (no header line), each a row of fields.
pub fn records(text: &str) -> Result<Vec<Vec<String>>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| {
            Error::new(
                ErrorKind::PsqlCsv,
                format!("psql's CSV output could not be read: {e}"),
            )
        })?;
        out.push(rec.iter().map(str::to_string).collect());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_stay_one_field() {
        let text = "public,plain,3\n\"we|ird\",\"a,b\",4\n\"multi\nline\",\"say \"\"hi\"\"\",5\n";
        let rows = records(text).unwrap();
        assert_eq!(
            rows,
            vec![
                vec!["public", "plain", "3"],
                vec!["we|ird", "a,b", "4"],
                vec!["multi\nline", "say \"hi\"", "5"],
            ]
        );
        assert!(records("").unwrap().is_empty());
    }
}
