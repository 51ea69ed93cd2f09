//! `fixture-gen` command line: parses `--seed`/`--scale` and streams the fixture SQL to
//! stdout (or `--output FILE`); `--roles` prints the role-creation SQL instead.
//!
//! Usage: `fixture-gen --seed N --scale K > out.sql`

use std::fs::File;
use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Instant;

use fixture_gen::{write_roles_sql, write_sql_with_summary, Options};

const USAGE: &str =
    "usage: fixture-gen [--seed N] [--scale K] [--output FILE] [--roles] [--quiet]\n\
  --seed N       PRNG seed (u64, default 1)\n\
  --scale K      scale factor >= 1 (default 1); business tables grow linearly\n\
  --output FILE  write to FILE instead of stdout\n\
  --roles        print the statement creating the workflow_admin role and exit\n\
  --quiet        do not print the row-count summary on stderr";

struct Args {
    opts: Options,
    output: Option<String>,
    roles: bool,
    quiet: bool,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = Args {
        opts: Options::default(),
        output: None,
        roles: false,
        quiet: false,
    };
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--seed" => {
                let v = value("--seed")?;
                args.opts.seed = v
                    .parse()
                    .map_err(|_| format!("--seed: not an unsigned 64-bit integer: {v:?}"))?;
            }
            "--scale" => {
                let v = value("--scale")?;
                let k: u32 = v
                    .parse()
                    .map_err(|_| format!("--scale: not a positive integer: {v:?}"))?;
                if k == 0 {
                    return Err("--scale must be at least 1".into());
                }
                args.opts.scale = k;
            }
            "--output" | "-o" => args.output = Some(value("--output")?),
            "--roles" => args.roles = true,
            "--quiet" | "-q" => args.quiet = true,
            "--help" | "-h" => return Ok(None),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(args))
}

fn run(args: &Args) -> io::Result<()> {
    let mut sink: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(File::create(path)?),
        None => Box::new(io::stdout().lock()),
    };
    if args.roles {
        write_roles_sql(&mut sink)?;
        return sink.flush();
    }
    let start = Instant::now();
    let s = write_sql_with_summary(&mut sink, &args.opts)?;
    sink.flush()?;
    if !args.quiet {
        let b = &s.business;
        eprintln!(
            "fixture-gen: seed {} scale {}: {} tables created; tac_logical_unit {}, tac_unit_version {}, \
             tac_publication {}, tac_review {}, tac_unit_tag {}, tac_attachment {}, universal_edges {}, \
             tac_audit_event {}, filler rows {}; {:.2}s",
            args.opts.seed,
            args.opts.scale,
            s.tables_created,
            b.units,
            b.versions,
            b.publications,
            b.reviews,
            b.unit_tags,
            b.attachments,
            b.edges,
            b.audit,
            s.filler_rows,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("fixture-gen: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fixture-gen: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &[&str]) -> Result<Option<Args>, String> {
        parse_args(v.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_flags() {
        let a = parse(&["--seed", "42", "--scale=3", "-q"])
            .expect("ok")
            .expect("args");
        assert_eq!(a.opts, Options { seed: 42, scale: 3 });
        assert!(a.quiet);
        assert!(parse(&["--scale", "0"]).is_err());
        assert!(parse(&["--seed", "-1"]).is_err());
        assert!(parse(&["--seed"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
        assert!(parse(&["--help"]).expect("ok").is_none());
    }
}
