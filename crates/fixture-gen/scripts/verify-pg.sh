#!/usr/bin/env bash
# Loads the generated fixture into a scratch PostgreSQL 16 database and checks it:
# table count, dump size (-Fc -Z6), restore, and the single workflow_admin reference.
#
# usage: crates/fixture-gen/scripts/verify-pg.sh [SEED] [SCALE]
# env:   PGBIN (dir with psql/pg_dump/pg_restore/createdb/dropdb), PGHOST, PGPORT, PGUSER,
#        FX_DB_PREFIX (default fx_; databases <prefix>verify and <prefix>restore are
#        dropped and recreated), FX_KEEP=1 to keep the databases, FX_WORK (scratch dir).
set -euo pipefail

SEED="${1:-1}"
SCALE="${2:-1}"
PGBIN="${PGBIN:-/opt/pg16/pgserver/pginstall/bin}"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-55432}" PGUSER="${PGUSER:-postgres}"
PREFIX="${FX_DB_PREFIX:-fx_}"
DB="${PREFIX}verify"
RDB="${PREFIX}restore"
ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
WORK="${FX_WORK:-$(mktemp -d)}"
mkdir -p "$WORK"
SQL="$WORK/fixture-s${SEED}-k${SCALE}.sql"
DUMP="$WORK/fixture-s${SEED}-k${SCALE}.dump"
PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1)

cd "$ROOT"
cargo build --release -q -p fixture-gen
BIN="$ROOT/target/release/fixture-gen"

t0=$(date +%s.%N)
"$BIN" --seed "$SEED" --scale "$SCALE" --output "$SQL"
t1=$(date +%s.%N)
sha_a=$(sha256sum "$SQL" | cut -d' ' -f1)
sha_b=$("$BIN" --seed "$SEED" --scale "$SCALE" --quiet | sha256sum | cut -d' ' -f1)
[ "$sha_a" = "$sha_b" ] || { echo "NOT deterministic: $sha_a vs $sha_b"; exit 1; }
echo "sql: $(stat -c %s "$SQL") bytes, sha256 $sha_a (deterministic), generated in $(echo "$t1 - $t0" | bc) s"

"$BIN" --roles | "${PSQL[@]}" -d postgres
"$PGBIN/dropdb" --if-exists "$DB"
"$PGBIN/createdb" "$DB"
t2=$(date +%s.%N)
"${PSQL[@]}" -d "$DB" -f fixtures/directus-12.3.1-bootstrap.sql >/dev/null
"${PSQL[@]}" -d "$DB" -f "$SQL" >/dev/null
t3=$(date +%s.%N)
echo "load (bootstrap + fixture): $(echo "$t3 - $t2" | bc) s"

tables=$("$PGBIN/psql" -X -At -d "$DB" -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema','pg_toast')")
echo "tables: $tables"
[ "$tables" = 236 ] || { echo "expected 236 tables"; exit 1; }
"$PGBIN/psql" -X -At -d "$DB" -F ' ' -c "SELECT 'rows', relname, n_live_tup FROM pg_stat_user_tables WHERE relname IN ('tac_logical_unit','tac_unit_version','tac_publication','universal_edges','dot_tools','directus_users','directus_collections','directus_fields','directus_migrations','directus_activity') ORDER BY relname" || true

t4=$(date +%s.%N)
"$PGBIN/pg_dump" -Fc -Z6 -d "$DB" -f "$DUMP"
t5=$(date +%s.%N)
echo "dump -Fc -Z6: $(stat -c %s "$DUMP") bytes ($(numfmt --to=iec "$(stat -c %s "$DUMP")")), $(echo "$t5 - $t4" | bc) s"

refs=$("$PGBIN/pg_restore" -f - "$DUMP" | grep -c workflow_admin || true)
echo "workflow_admin references in dump: $refs"
"$PGBIN/pg_restore" -f - "$DUMP" | grep -n workflow_admin
[ "$refs" = 1 ] || { echo "expected exactly one workflow_admin reference"; exit 1; }

"$PGBIN/dropdb" --if-exists "$RDB"
"$PGBIN/createdb" "$RDB"
t6=$(date +%s.%N)
"$PGBIN/pg_restore" --no-owner --no-privileges --clean --if-exists -d "$RDB" "$DUMP"
t7=$(date +%s.%N)
rtables=$("$PGBIN/psql" -X -At -d "$RDB" -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema','pg_toast')")
echo "restore: $rtables tables, $(echo "$t7 - $t6" | bc) s"
[ "$rtables" = 236 ] || exit 1

if [ "${FX_KEEP:-0}" != 1 ]; then
  "$PGBIN/dropdb" --if-exists "$DB"
  "$PGBIN/dropdb" --if-exists "$RDB"
  rm -f "$SQL" "$DUMP"
fi
echo OK
