#!/usr/bin/env bash
# Side-by-side figures (printed and written to BENCHMARKS.md): the manual method of SPEC §2
# (fresh container, docker cp, single-job pg_restore --clean --if-exists, psql smoke) for a
# sample of scenarios vs the harness suite (`dryrun run`), on the bundled fixture.
# Scripting the docker CLI is right here: that is what is being compared. Figures, not assertions.
set -euo pipefail
cd "$(dirname "$0")/.."
DRYRUN="cargo run -q -p dryrun-harness --bin dryrun --"
IMAGE="${PG_IMAGE:-dot-iu-cutter/postgres:16}"
DUMP=fixtures/directus_full_fixture.dump
SAMPLE=${SAMPLE:-3}
cargo build -q -p dryrun-harness --bin dryrun
manual_one() {
  local name="bench-manual-$$-$1" pw
  pw=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  docker run -d --name "$name" --label io.dot-iu-cutter.harness=bench -e POSTGRES_USER=directus \
    -e POSTGRES_PASSWORD="$pw" -e POSTGRES_DB=directus "$IMAGE" >/dev/null
  until [ "$(docker logs "$name" 2>&1 | grep -c 'ready to accept connections')" -ge 2 ]; do sleep 0.2; done
  docker cp "$DUMP" "$name:/tmp/restore.dump" >/dev/null
  docker exec "$name" pg_restore -U directus -d directus --no-owner --no-privileges --clean --if-exists /tmp/restore.dump 2>/dev/null || true
  docker exec "$name" psql -U directus -d directus -tAc "SELECT count(*) FROM public.dot_tools" >/dev/null
  docker rm -f "$name" >/dev/null
}
t0=$(date +%s.%N)
for i in $(seq 1 "$SAMPLE"); do manual_one "$i"; done
t1=$(date +%s.%N)
per=$(echo "($t1 - $t0) / $SAMPLE" | bc -l)
manual_total=$(echo "$per * 26" | bc -l)
rm -rf out/bench-report
t2=$(date +%s.%N)
$DRYRUN run --report out/bench-report >/dev/null
t3=$(date +%s.%N)
suite=$(echo "$t3 - $t2" | bc -l)
t4=$(date +%s.%N)
$DRYRUN restore-test --dump "$DUMP" --sums fixtures/SHA256SUMS --rowcounts fixtures/directus_rowcounts_fixture.psv >/dev/null
t5=$(date +%s.%N)
rt=$(echo "$t5 - $t4" | bc -l)
out=$(printf '| figure | value |\n|---|---|\n| manual method, per scenario (sample of %s) | %.2f s |\n| manual method, 26 scenarios (extrapolated) | %.1f s |\n| harness suite, 26 scenarios (`dryrun run`) | %.1f s |\n| speed-up | %.1fx |\n| harness restore-test of the fixture (provision+restore+smoke+teardown) | %.2f s |\n' \
  "$SAMPLE" "$per" "$manual_total" "$suite" "$(echo "$manual_total / $suite" | bc -l)" "$rt")
echo "$out"
{ echo "# Benchmarks"; echo; echo "Machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB; $(date -u +%Y-%m-%d); command: make bench"; echo; echo "$out"; } > BENCHMARKS.md
