//! Throughput of `canonicalize` on 10 MB of generated Markdown (deterministic):
//! headings, lists, code fences, CRLF lines, trailing spaces, non-ASCII and
//! combining characters (some lines need NFC, most do not).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const TARGET_BYTES: usize = 10 * 1024 * 1024;

/// Small deterministic PRNG (xorshift64*), so the text is identical on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "the",
    "cutter",
    "splits",
    "units",
    "of",
    "text",
    "into",
    "tokens",
    "markdown",
    "source",
    "canonical",
    "bytes",
    "span",
    "verify",
    "signature",
    "change",
    "set",
    "a",
    "is",
    "and",
    "café",
    "naïve",
    "Ångström",
    "résumé",
    "Straße",
    "日本語",
    "テキスト",
    "Ελληνικά",
    "русский",
    "e\u{301}te\u{301}",
    "A\u{30A}",
    "n\u{303}",
    "`code`",
    "**bold**",
    "_em_",
    "[link](http://x)",
];

fn generate() -> String {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = String::with_capacity(TARGET_BYTES + 256);
    while out.len() < TARGET_BYTES {
        let line_kind = rng.below(20);
        match line_kind {
            0 => out.push_str("## "),
            1 => out.push_str("# "),
            2..=5 => out.push_str("- "),
            6 => out.push_str("1. "),
            7 => out.push_str("    "),
            8 => out.push_str("> "),
            _ => {}
        }
        if line_kind == 9 {
            out.push_str("```rust");
        } else if line_kind != 10 {
            let words = 3 + rng.below(14);
            for w in 0..words {
                if w > 0 {
                    out.push(if rng.below(40) == 0 { '\t' } else { ' ' });
                }
                // Mostly ASCII words, some non-ASCII; combining-mark words are rare.
                let idx = rng.below(WORDS.len() * 4);
                let word = if idx < WORDS.len() * 3 {
                    WORDS[idx % 20]
                } else {
                    WORDS[idx % WORDS.len()]
                };
                out.push_str(word);
            }
        }
        // Trailing white space on some lines.
        match rng.below(8) {
            0 => out.push_str("  "),
            1 => out.push_str(" \t "),
            2 => out.push('\u{A0}'),
            _ => {}
        }
        // Line endings: mostly LF, a third CRLF, rare lone CR.
        match rng.below(30) {
            0..=19 => out.push('\n'),
            20..=28 => out.push_str("\r\n"),
            _ => out.push('\r'),
        }
    }
    out.push_str("\n\n\n");
    out
}

fn bench(c: &mut Criterion) {
    let text = generate();
    let bytes = text.as_bytes();
    let mut group = c.benchmark_group("canon-md-v0.1.0");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sample_size(10);
    group.bench_function("canonicalize_10MB_markdown", |b| {
        b.iter(|| canon_md::canonicalize(black_box(bytes)))
    });
    group.bench_function("canonicalize_10MB_markdown_already_canonical", |b| {
        let canonical = canon_md::canonicalize(bytes)
            .map(|c| c.into_text())
            .unwrap_or_default();
        b.iter(|| canon_md::canonicalize(black_box(canonical.as_bytes())))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
