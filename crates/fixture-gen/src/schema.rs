//! The table model shared by every generated table (columns, keys, checks, foreign keys,
//! partitioning) and its rendering to `CREATE TABLE` / `ALTER TABLE ... FOREIGN KEY` DDL.
//!
//! Keys, uniques and checks are rendered inline; foreign keys are emitted after the data,
//! like pg_dump does, so rows can be loaded in any order.

use std::io::{self, Write};

/// One column: name, SQL type, and trailing modifiers (`NOT NULL`, `DEFAULT ...`, identity).
#[derive(Clone, Debug)]
pub struct Col {
    pub name: &'static str,
    pub ty: &'static str,
    pub extra: &'static str,
}

/// Shorthand constructor for [`Col`].
pub const fn col(name: &'static str, ty: &'static str, extra: &'static str) -> Col {
    Col { name, ty, extra }
}

/// A foreign key from `cols` of the owning table to `ref_table(ref_cols)`.
#[derive(Clone, Debug)]
pub struct Fk {
    pub cols: &'static str,
    pub ref_table: String,
    pub ref_cols: &'static str,
    pub on_delete: &'static str,
}

/// How a table takes part in partitioning.
#[derive(Clone, Debug, Default)]
pub enum Partitioning {
    /// An ordinary table.
    #[default]
    None,
    /// A partitioned parent: `PARTITION BY <spec>`.
    Parent(&'static str),
    /// A partition: `PARTITION OF <parent> <bounds>` (no own column list).
    Of { parent: String, bounds: String },
}

/// A table definition.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub schema: &'static str,
    pub name: String,
    pub cols: Vec<Col>,
    pub pk: Option<&'static str>,
    pub uniques: Vec<&'static str>,
    pub checks: Vec<(&'static str, String)>,
    pub fks: Vec<Fk>,
    pub partitioning: Partitioning,
    pub comment: Option<&'static str>,
}

impl Table {
    /// New table with the given columns and no constraints.
    pub fn new(schema: &'static str, name: impl Into<String>, cols: Vec<Col>) -> Self {
        Table {
            schema,
            name: name.into(),
            cols,
            ..Table::default()
        }
    }

    /// Schema-qualified name.
    pub fn qname(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    /// Column names, in order (for COPY).
    pub fn col_names(&self) -> Vec<&'static str> {
        self.cols.iter().map(|c| c.name).collect()
    }

    /// Builder: primary key column list.
    pub fn pk(mut self, cols: &'static str) -> Self {
        self.pk = Some(cols);
        self
    }

    /// Builder: a unique constraint.
    pub fn unique(mut self, cols: &'static str) -> Self {
        self.uniques.push(cols);
        self
    }

    /// Builder: a named check constraint (`suffix` is appended to the table name).
    pub fn check(mut self, suffix: &'static str, expr: impl Into<String>) -> Self {
        self.checks.push((suffix, expr.into()));
        self
    }

    /// Builder: a foreign key.
    pub fn fk(
        mut self,
        cols: &'static str,
        ref_table: impl Into<String>,
        ref_cols: &'static str,
        on_delete: &'static str,
    ) -> Self {
        self.fks.push(Fk {
            cols,
            ref_table: ref_table.into(),
            ref_cols,
            on_delete,
        });
        self
    }

    /// Builder: table comment.
    pub fn comment(mut self, c: &'static str) -> Self {
        self.comment = Some(c);
        self
    }

    /// Builder: partitioning role.
    pub fn partitioning(mut self, p: Partitioning) -> Self {
        self.partitioning = p;
        self
    }

    /// Writes the `CREATE TABLE` statement (exactly one per table).
    pub fn write_create(&self, out: &mut impl Write) -> io::Result<()> {
        let q = self.qname();
        if let Partitioning::Of { parent, bounds } = &self.partitioning {
            writeln!(out, "CREATE TABLE {q} PARTITION OF {parent} {bounds};\n")?;
            return Ok(());
        }
        writeln!(out, "CREATE TABLE {q} (")?;
        let mut lines: Vec<String> = self
            .cols
            .iter()
            .map(|c| {
                if c.extra.is_empty() {
                    format!("    {} {}", c.name, c.ty)
                } else {
                    format!("    {} {} {}", c.name, c.ty, c.extra)
                }
            })
            .collect();
        if let Some(pk) = self.pk {
            lines.push(format!(
                "    CONSTRAINT {}_pkey PRIMARY KEY ({pk})",
                self.name
            ));
        }
        for u in &self.uniques {
            lines.push(format!(
                "    CONSTRAINT {}_{}_key UNIQUE ({u})",
                self.name,
                constraint_cols(u)
            ));
        }
        for (suffix, expr) in &self.checks {
            lines.push(format!(
                "    CONSTRAINT {}_{suffix}_check CHECK ({expr})",
                self.name
            ));
        }
        writeln!(out, "{}", lines.join(",\n"))?;
        match &self.partitioning {
            Partitioning::Parent(spec) => writeln!(out, ") PARTITION BY {spec};\n")?,
            _ => writeln!(out, ");\n")?,
        }
        Ok(())
    }

    /// Writes one `ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY` per foreign key.
    pub fn write_fks(&self, out: &mut impl Write) -> io::Result<()> {
        for fk in &self.fks {
            let on_delete = if fk.on_delete.is_empty() {
                String::new()
            } else {
                format!(" ON DELETE {}", fk.on_delete)
            };
            writeln!(
                out,
                "ALTER TABLE ONLY {}\n    ADD CONSTRAINT {}_{}_fkey FOREIGN KEY ({}) REFERENCES {}({}){on_delete};\n",
                self.qname(),
                self.name,
                constraint_cols(fk.cols),
                fk.cols,
                fk.ref_table,
                fk.ref_cols
            )?;
        }
        Ok(())
    }

    /// Writes `COMMENT ON TABLE` if a comment is set.
    pub fn write_comment(&self, out: &mut impl Write) -> io::Result<()> {
        if let Some(c) = self.comment {
            writeln!(
                out,
                "COMMENT ON TABLE {} IS '{}';\n",
                self.qname(),
                c.replace('\'', "''")
            )?;
        }
        Ok(())
    }
}

/// `a, b` -> `a_b` for constraint names.
fn constraint_cols(cols: &str) -> String {
    cols.split(',').map(str::trim).collect::<Vec<_>>().join("_")
}

/// Sequence positions to restore after loading, emitted as `setval` calls.
#[derive(Default, Debug)]
pub struct SeqSets {
    items: Vec<(String, i64)>,
}

impl SeqSets {
    /// Records the sequence behind `table.column` (serial or identity) at `last` (0 = unused).
    pub fn column(&mut self, qtable: &str, column: &str, last: i64) {
        self.items.push((
            format!("pg_catalog.pg_get_serial_sequence('{qtable}', '{column}')"),
            last,
        ));
    }

    /// Records a standalone sequence by qualified name.
    pub fn sequence(&mut self, qseq: &str, last: i64) {
        self.items.push((format!("'{qseq}'"), last));
    }

    /// Writes the `setval` statements.
    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        for (target, last) in &self.items {
            if *last > 0 {
                writeln!(out, "SELECT pg_catalog.setval({target}, {last}, true);")?;
            } else {
                writeln!(out, "SELECT pg_catalog.setval({target}, 1, false);")?;
            }
        }
        writeln!(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_constraints() {
        let t = Table::new(
            "tac",
            "x_items",
            vec![
                col("id", "integer", "NOT NULL"),
                col("code", "text", "NOT NULL"),
                col("parent_id", "integer", ""),
            ],
        )
        .pk("id")
        .unique("code")
        .check("code", "code <> ''")
        .fk("parent_id", "tac.x_items", "id", "SET NULL");
        let mut out = Vec::new();
        t.write_create(&mut out).expect("create");
        t.write_fks(&mut out).expect("fks");
        let s = String::from_utf8(out).expect("utf8");
        assert!(s.starts_with("CREATE TABLE tac.x_items (\n    id integer NOT NULL,"));
        assert!(s.contains("CONSTRAINT x_items_code_key UNIQUE (code)"));
        assert!(s.contains("CONSTRAINT x_items_code_check CHECK (code <> '')"));
        assert!(
            s.contains("FOREIGN KEY (parent_id) REFERENCES tac.x_items(id) ON DELETE SET NULL;")
        );
    }
}
