//! The psql conventions of a Sqitch script made runnable in the runner's transaction: split into
//! statements, outer `BEGIN`/`COMMIT` blanked, `SET` made `SET LOCAL`, the rest refused with `file:line`.
//!
//! Scripts are split into statements by `sqlparser`'s PostgreSQL tokenizer (quotes, `$tag$`
//! dollar quoting, `--` and nested `/* */` comments) with psql's rule for `BEGIN ATOMIC` bodies.
//! The script's own outer `BEGIN;` and final `COMMIT;` (`ROLLBACK;` in a verify) are blanked
//! out (newlines kept, so the server's line numbers still match the file); a session `SET`
//! becomes `SET LOCAL` (under Sqitch a setting lasts for the script's psql session; in the
//! runner, for the step's transaction). Refused before anything runs: psql meta-commands,
//! `COPY ... FROM STDIN / TO STDOUT`, transaction control elsewhere, and statements PostgreSQL
//! refuses inside a transaction block.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::error::{Error, ErrorKind, Result};

/// Which script of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::Display)]
#[strum(serialize_all = "snake_case")]
pub enum ScriptKind {
    Deploy,
    Verify,
    Revert,
}

/// A script ready for the runner, and what the plan learns from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The text to run inside the runner's transaction.
    pub sql: String,
    /// Schemas the script creates (`CREATE SCHEMA`), lower-cased unless quoted.
    pub creates_schemas: Vec<String>,
}

/// One statement: token range and its words at parenthesis depth 0 (upper-cased; a quoted
/// identifier is kept in quotes so it never matches a keyword).
struct Stmt {
    /// Index of the first significant token.
    first: usize,
    /// Index of the terminating `;` (or `tokens.len()`).
    end: usize,
    words: Vec<String>,
    /// Every word of the statement (any depth), upper-cased.
    all_words: Vec<String>,
    line: u64,
}

fn significant(t: &Token) -> bool {
    !matches!(t, Token::Whitespace(_) | Token::EOF)
}

fn word_of(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_uppercase()),
        Token::Word(w) => Some(format!("\"{}\"", w.value)),
        _ => None,
    }
}

/// Split into statements the way psql does: at `;` outside parentheses and outside the
/// `BEGIN ... END` of a `CREATE [OR REPLACE] FUNCTION|PROCEDURE` (psqlscan.l's heuristic).
fn split(tokens: &[TokenWithSpan]) -> Vec<Stmt> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        // skip to the first significant token
        while i < tokens.len() && !significant(&tokens[i].token) {
            i += 1;
        }
        if i >= tokens.len() {
            break;
        }
        let first = i;
        let (mut paren, mut begin) = (0i64, 0i64);
        let mut idents: Vec<char> = Vec::new();
        let mut words = Vec::new();
        let mut all_words = Vec::new();
        while i < tokens.len() {
            let t = &tokens[i].token;
            match t {
                Token::SemiColon if paren == 0 && begin == 0 => break,
                Token::LParen => paren += 1,
                Token::RParen => paren = (paren - 1).max(0),
                Token::Word(w) if w.quote_style.is_none() => {
                    let up = w.value.to_uppercase();
                    let c = match up.as_str() {
                        "CREATE" | "FUNCTION" | "PROCEDURE" | "OR" | "REPLACE" => {
                            up.chars().next().unwrap_or(' ').to_ascii_lowercase()
                        }
                        _ => ' ',
                    };
                    idents.push(c);
                    let id = |k: usize| idents.get(k).copied().unwrap_or(' ');
                    let in_routine = id(0) == 'c'
                        && (id(1) == 'f'
                            || id(1) == 'p'
                            || (id(1) == 'o' && id(2) == 'r' && (id(3) == 'f' || id(3) == 'p')));
                    if in_routine && paren == 0 {
                        match up.as_str() {
                            "BEGIN" => begin += 1,
                            "CASE" if begin >= 1 => begin += 1,
                            "END" if begin > 0 => begin -= 1,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
            if let Some(w) = word_of(t) {
                if paren == 0 {
                    words.push(w.clone());
                }
                all_words.push(w);
            }
            i += 1;
        }
        out.push(Stmt {
            first,
            end: i,
            words,
            all_words,
            line: tokens[first].span.start.line,
        });
        i += 1;
    }
    out
}

/// Byte offset of a tokenizer location (1-based line, 1-based column in characters).
fn offset(text: &str, line_starts: &[usize], line: u64, column: u64) -> usize {
    let Some(&start) = line_starts.get((line as usize).saturating_sub(1)) else {
        return text.len();
    };
    text[start..]
        .char_indices()
        .nth((column as usize).saturating_sub(1))
        .map_or(text.len(), |(o, _)| start + o)
}

/// How a transaction-control statement reads, if it is one.
enum TxStmt {
    /// `BEGIN;`, `BEGIN WORK|TRANSACTION;`, `START TRANSACTION;`
    Begin,
    /// `COMMIT;` / `END;` (optionally WORK|TRANSACTION)
    Commit,
    /// `ROLLBACK;` / `ABORT;` (optionally WORK|TRANSACTION)
    Rollback,
    /// Anything else that starts, ends or prepares a transaction.
    Other,
}

fn tx_stmt(w: &[String]) -> Option<TxStmt> {
    let plain_tail = |rest: &[String]| {
        rest.is_empty() || (rest.len() == 1 && (rest[0] == "WORK" || rest[0] == "TRANSACTION"))
    };
    let head = w.first()?.as_str();
    Some(match head {
        "BEGIN" if plain_tail(&w[1..]) => TxStmt::Begin,
        "START" if w.get(1).map(String::as_str) == Some("TRANSACTION") && w.len() == 2 => {
            TxStmt::Begin
        }
        "BEGIN" => TxStmt::Other,
        "START" if w.get(1).map(String::as_str) == Some("TRANSACTION") => TxStmt::Other,
        "COMMIT" | "END" if plain_tail(&w[1..]) => TxStmt::Commit,
        "COMMIT" | "END" => TxStmt::Other,
        "ROLLBACK" | "ABORT" if plain_tail(&w[1..]) => TxStmt::Rollback,
        "ROLLBACK" if w.iter().any(|x| x == "TO") => return None, // ROLLBACK TO SAVEPOINT
        "ROLLBACK" | "ABORT" => TxStmt::Other,
        "PREPARE" if w.get(1).map(String::as_str) == Some("TRANSACTION") => TxStmt::Other,
        _ => return None,
    })
}

/// Why PostgreSQL refuses this statement inside a transaction block, if it does.
fn non_transactional(s: &Stmt) -> Option<&'static str> {
    let w: Vec<&str> = s.words.iter().map(String::as_str).collect();
    let has = |x: &str| s.all_words.iter().any(|y| y == x);
    let at = |k: usize| w.get(k).copied().unwrap_or("");
    match (at(0), at(1)) {
        ("VACUUM", _) => Some("VACUUM"),
        ("CREATE", "INDEX") if at(2) == "CONCURRENTLY" => Some("CREATE INDEX CONCURRENTLY"),
        ("CREATE", "UNIQUE") if at(2) == "INDEX" && at(3) == "CONCURRENTLY" => {
            Some("CREATE INDEX CONCURRENTLY")
        }
        ("DROP", "INDEX") if at(2) == "CONCURRENTLY" => Some("DROP INDEX CONCURRENTLY"),
        ("REINDEX", _) if has("CONCURRENTLY") => Some("REINDEX ... CONCURRENTLY"),
        ("REINDEX", "SCHEMA" | "DATABASE" | "SYSTEM") => Some("REINDEX SCHEMA / DATABASE / SYSTEM"),
        ("CREATE", "DATABASE") => Some("CREATE DATABASE"),
        ("DROP", "DATABASE") => Some("DROP DATABASE"),
        ("ALTER", "DATABASE") if w.windows(2).any(|p| p == ["SET", "TABLESPACE"]) => {
            Some("ALTER DATABASE ... SET TABLESPACE")
        }
        ("ALTER", "SYSTEM") => Some("ALTER SYSTEM"),
        ("CREATE", "TABLESPACE") => Some("CREATE TABLESPACE"),
        ("DROP", "TABLESPACE") => Some("DROP TABLESPACE"),
        ("CREATE", "SUBSCRIPTION") => Some("CREATE SUBSCRIPTION"),
        ("DROP", "SUBSCRIPTION") => Some("DROP SUBSCRIPTION"),
        ("ALTER", "SUBSCRIPTION") if has("REFRESH") => Some("ALTER SUBSCRIPTION ... REFRESH"),
        ("ALTER", "TABLE") if has("DETACH") && has("CONCURRENTLY") => {
            Some("ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY")
        }
        ("CLUSTER", _) if w.iter().skip(1).all(|x| *x == "VERBOSE") => {
            Some("CLUSTER without a table")
        }
        ("DISCARD", "ALL") => Some("DISCARD ALL"),
        ("COMMIT", "PREPARED") | ("ROLLBACK", "PREPARED") => Some("COMMIT / ROLLBACK PREPARED"),
        _ => None,
    }
}

/// Check a script and make it runnable inside the runner's transaction (see the module doc).
/// `file` names it in messages (`file:line: ...`).
pub fn prepare_script(text: &str, file: &str, kind: ScriptKind) -> Result<Prepared> {
    let refuse = |line: u64, what: String, todo: &str| {
        Error::new(
            ErrorKind::UnsupportedScript,
            format!("{file}:{line}: {what} The harness runs each {kind} script inside a transaction of its own (with lock_timeout and statement_timeout) through the PostgreSQL protocol, not through psql, so nothing of the plan was run."),
        )
        .with_hint(todo.to_string())
    };
    let meta_line = text
        .lines()
        .position(|l| l.trim_start().starts_with('\\'))
        .map(|i| i as u64 + 1);
    let dialect = PostgreSqlDialect {};
    let tokens = match Tokenizer::new(&dialect, text).tokenize_with_location() {
        Ok(t) => t,
        Err(e) => {
            if let Some(l) = meta_line.filter(|l| *l <= e.location.line.max(1)) {
                return Err(meta(l, &refuse));
            }
            return Err(Error::new(
                ErrorKind::UnsupportedScript,
                format!(
                    "{file}:{}:{}: cannot be split into SQL statements: {}.",
                    e.location.line, e.location.column, e.message
                ),
            )
            .with_hint("Check the quoting (a string, quoted identifier, dollar quote or /* comment */ left open) at that place."));
        }
    };
    for t in &tokens {
        if matches!(t.token, Token::Backslash) {
            return Err(meta(t.span.start.line, &refuse));
        }
    }
    let stmts = split(&tokens);
    // Before the BEGIN / COMMIT pairing: the tokenizer reads what follows FROM STDIN as data.
    if let Some(s) = stmts.iter().find(|s| {
        s.words.first().map(String::as_str) == Some("COPY")
            && s.words.iter().any(|w| w == "STDIN" || w == "STDOUT")
    }) {
        return Err(refuse(
            s.line,
            "COPY ... FROM STDIN / TO STDOUT needs psql to feed or read the data.".into(),
            "Use INSERT ... VALUES (or INSERT ... SELECT) for seed rows.",
        ));
    }

    // The outer BEGIN / final COMMIT pair.
    let mut strip: Vec<usize> = Vec::new();
    let first_tx = stmts.first().and_then(|s| tx_stmt(&s.words));
    let last_tx = if stmts.len() > 1 {
        stmts.last().and_then(|s| tx_stmt(&s.words))
    } else {
        None
    };
    match (&first_tx, &last_tx) {
        (Some(TxStmt::Begin), Some(TxStmt::Commit)) => strip = vec![0, stmts.len() - 1],
        (Some(TxStmt::Begin), Some(TxStmt::Rollback)) if kind == ScriptKind::Verify => {
            strip = vec![0, stmts.len() - 1]
        }
        (Some(TxStmt::Begin), Some(TxStmt::Rollback)) => {
            let s = &stmts[stmts.len() - 1];
            return Err(refuse(
                s.line,
                format!("the {kind} script ends with ROLLBACK: under Sqitch it would change nothing and still be recorded as done."),
                "End the script with COMMIT (or drop the BEGIN / ROLLBACK pair).",
            ));
        }
        (Some(TxStmt::Begin), _) => {
            if let Some(s) = stmts[1..].iter().find(|s| tx_stmt(&s.words).is_some()) {
                let shown = s
                    .words
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" ");
                return Err(refuse(
                    s.line,
                    format!("transaction control ({shown}) other than the script's own outer BEGIN; ... COMMIT;."),
                    "Keep one BEGIN; as the script's first statement and one COMMIT; as its last (or none); split the change in two if it needs two transactions.",
                ));
            }
            return Err(refuse(
                stmts[0].line,
                "the script opens a transaction (BEGIN) that its last statement does not close with COMMIT.".into(),
                "End the script with COMMIT; (a verify script may end with ROLLBACK;).",
            ));
        }
        _ => {}
    }
    for (k, s) in stmts.iter().enumerate() {
        if strip.contains(&k) {
            continue;
        }
        if tx_stmt(&s.words).is_some() {
            let shown = s
                .words
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(" ");
            return Err(refuse(
                s.line,
                format!("transaction control ({shown}) other than the script's own outer BEGIN; ... COMMIT;."),
                "Keep one BEGIN; as the script's first statement and one COMMIT; as its last (or none); use SAVEPOINT / ROLLBACK TO SAVEPOINT inside, and split the change in two if it needs two transactions.",
            ));
        }
        if let Some(what) = non_transactional(s) {
            return Err(refuse(
                s.line,
                format!("{what} cannot run inside a transaction block, and every step runs in one."),
                "Move the statement out of the plan (run it by hand after the migration), or use its transactional form (e.g. CREATE INDEX without CONCURRENTLY).",
            ));
        }
    }

    // Edits: blank the stripped statements (keeping newlines), SET -> SET LOCAL.
    let mut line_starts = vec![0usize];
    line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    let pos =
        |t: &TokenWithSpan| offset(text, &line_starts, t.span.start.line, t.span.start.column);
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for &k in &strip {
        let s = &stmts[k];
        let from = pos(&tokens[s.first]);
        let to = match tokens.get(s.end) {
            Some(t) if matches!(t.token, Token::SemiColon) => pos(t) + 1,
            Some(t) => pos(t),
            None => text.len(),
        };
        let blank: String = text[from..to]
            .chars()
            .map(|c| if c == '\n' || c == '\r' { c } else { ' ' })
            .collect();
        edits.push((from, to, blank));
    }
    let mut creates_schemas = Vec::new();
    for (k, s) in stmts.iter().enumerate() {
        if strip.contains(&k) {
            continue;
        }
        let w = &s.words;
        if w.first().map(String::as_str) == Some("SET") {
            let next = w.get(1).map(String::as_str).unwrap_or("");
            let after = w.get(2).map(String::as_str).unwrap_or("");
            let sig: Vec<usize> = (s.first..s.end)
                .filter(|&i| significant(&tokens[i].token))
                .collect();
            match next {
                "LOCAL" | "TRANSACTION" | "CONSTRAINTS" => {}
                "SESSION" if after == "CHARACTERISTICS" => {}
                "SESSION" if after == "AUTHORIZATION" => {
                    if let Some(&i) = sig.get(1) {
                        let at = pos(&tokens[i]);
                        edits.push((at, at, "LOCAL ".into()));
                    }
                }
                "SESSION" => {
                    if let Some(&i) = sig.get(1) {
                        let at = pos(&tokens[i]);
                        edits.push((at, at + "SESSION".len(), "LOCAL".into()));
                    }
                }
                _ => {
                    if let Some(&i) = sig.get(1) {
                        let at = pos(&tokens[i]);
                        edits.push((at, at, "LOCAL ".into()));
                    }
                }
            }
        }
        if w.first().map(String::as_str) == Some("CREATE")
            && w.get(1).map(String::as_str) == Some("SCHEMA")
        {
            let names: Vec<&Token> = (s.first..s.end)
                .map(|i| &tokens[i].token)
                .filter(|t| significant(t))
                .skip(2)
                .collect();
            let mut idx = 0;
            let is = |t: Option<&&Token>, kw: &str| matches!(t, Some(Token::Word(x)) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(kw));
            if is(names.first(), "IF") && is(names.get(1), "NOT") && is(names.get(2), "EXISTS") {
                idx = 3;
            }
            if is(names.get(idx), "AUTHORIZATION") {
                idx += 1;
            }
            if let Some(Token::Word(x)) = names.get(idx) {
                creates_schemas.push(if x.quote_style.is_some() {
                    x.value.clone()
                } else {
                    x.value.to_lowercase()
                });
            }
        }
    }
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut sql = text.to_string();
    for (from, to, with) in edits {
        sql.replace_range(from..to, &with);
    }
    Ok(Prepared {
        sql,
        creates_schemas,
    })
}

fn meta(line: u64, refuse: &dyn Fn(u64, String, &str) -> Error) -> Error {
    refuse(
        line,
        "a psql meta-command (a line starting with `\\`) cannot be run.".into(),
        "Replace it with SQL (\\set / \\gset / \\if have no SQL equivalent inside one script: inline the value; \\i: paste the file) or run that part by hand.",
    )
}
