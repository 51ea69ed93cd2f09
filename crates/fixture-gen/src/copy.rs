//! The SQL output sink: `COPY ... FROM stdin` text-format row encoding (escaping, NULLs)
//! and a streaming writer that keeps only one row in memory at a time.
//!
//! Every table's data is written through [`Copy`], which also counts the rows it wrote.

use std::fmt::Display;
use std::io::{self, Write};

/// Appends `s` to `buf` escaped for the COPY text format.
pub fn escape_into(buf: &mut String, s: &str) {
    for ch in s.chars() {
        match ch {
            '\\' => buf.push_str("\\\\"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            '\t' => buf.push_str("\\t"),
            c => buf.push(c),
        }
    }
}

/// One open `COPY <table> (<cols>) FROM stdin;` block.
pub struct Copy<'w, W: Write> {
    out: &'w mut W,
    row: String,
    fields: usize,
    width: usize,
    rows: u64,
}

impl<'w, W: Write> Copy<'w, W> {
    /// Starts a COPY block for a schema-qualified table and its column list.
    pub fn begin(out: &'w mut W, table: &str, columns: &[&str]) -> io::Result<Self> {
        writeln!(out, "COPY {table} ({}) FROM stdin;", columns.join(", "))?;
        Ok(Copy {
            out,
            row: String::with_capacity(512),
            fields: 0,
            width: columns.len(),
            rows: 0,
        })
    }

    fn sep(&mut self) {
        if self.fields > 0 {
            self.row.push('\t');
        }
        self.fields += 1;
    }

    /// A text value (escaped).
    pub fn text(&mut self, s: &str) -> &mut Self {
        self.sep();
        escape_into(&mut self.row, s);
        self
    }

    /// A value whose `Display` form needs no escaping (numbers, UUIDs, timestamps).
    pub fn raw(&mut self, v: impl Display) -> &mut Self {
        use std::fmt::Write as _;
        self.sep();
        let _ = write!(self.row, "{v}");
        self
    }

    /// SQL NULL.
    pub fn null(&mut self) -> &mut Self {
        self.sep();
        self.row.push_str("\\N");
        self
    }

    /// Optional text value.
    pub fn opt_text(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    /// Optional unescaped value.
    pub fn opt_raw<T: Display>(&mut self, v: Option<T>) -> &mut Self {
        match v {
            Some(v) => self.raw(v),
            None => self.null(),
        }
    }

    /// Boolean in COPY form.
    pub fn bool(&mut self, b: bool) -> &mut Self {
        self.sep();
        self.row.push(if b { 't' } else { 'f' });
        self
    }

    /// A JSON document (json / jsonb column), escaped.
    pub fn json(&mut self, v: &serde_json::Value) -> &mut Self {
        let s = v.to_string();
        self.text(&s)
    }

    /// Numeric with two decimals from an amount in hundredths.
    pub fn cents(&mut self, hundredths: i64) -> &mut Self {
        let sign = if hundredths < 0 { "-" } else { "" };
        let a = hundredths.unsigned_abs();
        self.raw(format_args!("{sign}{}.{:02}", a / 100, a % 100))
    }

    /// Ends the current row and writes it; a row whose field count differs from the
    /// column list is a generator bug and is reported as `InvalidData`.
    pub fn end_row(&mut self) -> io::Result<()> {
        if self.fields != self.width {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "COPY row has {} fields, expected {}: {}",
                    self.fields, self.width, self.row
                ),
            ));
        }
        self.row.push('\n');
        self.out.write_all(self.row.as_bytes())?;
        self.row.clear();
        self.fields = 0;
        self.rows += 1;
        Ok(())
    }

    /// Closes the COPY block; returns the number of rows written.
    pub fn finish(self) -> io::Result<u64> {
        self.out.write_all(b"\\.\n\n")?;
        Ok(self.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_framing() {
        let mut out = Vec::new();
        let mut c = Copy::begin(&mut out, "public.t", &["a", "b", "c", "d"]).expect("begin");
        c.text("x\ty\r\nz\\").null().bool(true).cents(-1234);
        c.end_row().expect("row");
        assert_eq!(c.finish().expect("finish"), 1);
        let s = String::from_utf8(out).expect("utf8");
        assert_eq!(
            s,
            "COPY public.t (a, b, c, d) FROM stdin;\nx\\ty\\r\\nz\\\\\t\\N\tt\t-12.34\n\\.\n\n"
        );
    }
}
