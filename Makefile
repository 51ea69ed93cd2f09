# dot-iu-cutter P0 dry-run harness. `make dry-run` runs the main job on the bundled fixture,
# `make test` runs every test (unit, property, and the 26 HB-05 scenarios in real containers).
CARGO ?= cargo
DRYRUN = $(CARGO) run -q -p dryrun-harness --bin dryrun --
REPORT ?= out/report

.PHONY: all build image dry-run restore-test test scenarios fixture fixture-prod bench stress gc fmt clippy check

all: build

build:
	$(CARGO) build -p dryrun-harness --bins

# PostgreSQL 16 image: postgres:16 if present, else dot-iu-cutter/postgres:16 built offline (cached by recipe hash).
image:
	$(DRYRUN) image

# The main job: restore test of the bundled fixture, then the 26 scenarios with the closure report.
dry-run: image
	$(DRYRUN) restore-test --dump fixtures/directus_full_fixture.dump --sums fixtures/SHA256SUMS \
	  --rowcounts fixtures/directus_rowcounts_fixture.psv --checks checks/hb08.yaml --report $(REPORT)
	$(DRYRUN) run --report $(REPORT)

restore-test: image
	$(DRYRUN) restore-test --dump fixtures/directus_full_fixture.dump --sums fixtures/SHA256SUMS \
	  --rowcounts fixtures/directus_rowcounts_fixture.psv --checks checks/hb08.yaml --report $(REPORT)

test: image
	$(CARGO) test --workspace

# Ten consecutive full runs plus two in parallel (CI runs two consecutive: its time budget).
stress: image
	DRYRUN_STRESS_RUNS=10 $(CARGO) test -p dryrun-harness --test stress -- --nocapture

scenarios: image
	$(CARGO) test -p dryrun-harness --test scenarios

# Regenerate the committed scale-1 fixture (deterministic generator; the dump header carries its time).
fixture: image
	$(DRYRUN) fixture --seed 1 --scale 1 --out fixtures --force

# Production-sized fixture (about 68 MB dump), not committed.
fixture-prod: image
	$(DRYRUN) fixture --seed 1 --scale 30 --out out/fixture-prod --force

# Side-by-side figures (manual method vs harness, restore, clone, peak RSS, CPU time) → BENCHMARKS.md.
# The script builds the release binary and makes sure the image exists itself.
# SAMPLE=n manual-method samples (default 3); NEXTEST=1 also times the two nextest shards.
# SCALE=300: production scale and `fixture --scale 300` (10×) side by side instead, written as
# its own section of BENCHMARKS.md (manual vs suite at both, per scenario, restores, proofs).
bench:
	SCALE=$(SCALE) bash bench/run.sh

gc:
	$(DRYRUN) gc

fmt:
	$(CARGO) fmt --all

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

check: fmt clippy test
