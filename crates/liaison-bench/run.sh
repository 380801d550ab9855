#!/usr/bin/env bash
# The issue-3 benchmark of 民意收集处理 for one backend, end to end: release build, the demo
# organisation, COUNT generated opinions, a server, the read load (inbox, search, tracking,
# mixed, ledger) with the server's memory, then HTTP intake beside raw inserts; the server is
# stopped and (PostgreSQL) the bench database dropped at the end.
#
#   crates/liaison-bench/run.sh sqlite|postgres [COUNT]
#
# Environment: BENCH_DIR (work directory, default /tmp/liaison-bench-<backend>), BENCH_PORT
# (18080), BENCH_PG (admin URL, default postgres://postgres@127.0.0.1:5432/postgres; the bench
# creates and drops the database liaison_bench), BENCH_CORPUS, BENCH_DURATION (seconds per
# scenario, 30), BENCH_INTAKE (submissions, 20000), BENCH_KEEP=1 keeps the data afterwards.
set -euo pipefail

backend=${1:?usage: run.sh sqlite|postgres [COUNT]}
count=${2:-1000000}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${BENCH_DIR:-/tmp/liaison-bench-$backend}
port=${BENCH_PORT:-18080}
pg_admin=${BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}
corpus=${BENCH_CORPUS:-/work/shared/data/gov-messages}
duration=${BENCH_DURATION:-30}
intake=${BENCH_INTAKE:-20000}

case $backend in
  sqlite) url="sqlite://$work/liaison.db" ;;
  postgres) url="${pg_admin%/*}/liaison_bench" ;;
  *) echo "backend must be sqlite or postgres" >&2; exit 2 ;;
esac

echo "== $(date -u +%FT%TZ) $(uname -n), $(nproc) cores; $(uptime)"
(cd "$root" && cargo build --release -p liaison -p liaison-bench)
bin=$root/target/release
# Copies, so that a rebuild meanwhile cannot change what is measured.
rm -rf "$work"
mkdir -p "$work/bin"
cp "$bin/liaison" "$bin/liaison-bench" "$work/bin/"
bin=$work/bin

if [ "$backend" = postgres ]; then
  psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS liaison_bench" -c "CREATE DATABASE liaison_bench"
fi

"$bin/liaison" --data-dir "$work" --database-url "$url" demo
"$bin/liaison-bench" generate --database-url "$url" --data-dir "$work" --count "$count" --corpus "$corpus"

LIAISON_PUBLIC_RATE_PER_MIN=1000000000 "$bin/liaison" --data-dir "$work" --database-url "$url" \
  --addr "127.0.0.1:$port" serve >"$work/server.log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ "$backend" = postgres ] && [ -z "${BENCH_KEEP:-}" ]; then
    psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS liaison_bench" || true
  fi
}
trap cleanup EXIT

for _ in $(seq 1 60); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 1
done
curl -fs "http://127.0.0.1:$port/healthz" >/dev/null
# The server's first timer pass (closing unrated items, opening supervision cases) and, on
# SQLite, its merge of the search index run at start; let them finish before measuring.
for _ in $(seq 1 120); do
  grep -q "search index merged" "$work/server.log" && break
  sleep 1
done
sleep 5
"$bin/liaison-bench" rss --pid "$pid"

"$bin/liaison-bench" load --url "http://127.0.0.1:$port" --database-url "$url" --data-dir "$work" \
  --corpus "$corpus" --concurrency 32 --duration "$duration" --server-pid "$pid"
"$bin/liaison-bench" intake --url "http://127.0.0.1:$port" --database-url "$url" --data-dir "$work" \
  --corpus "$corpus" --count "$intake" --concurrency 32 --server-pid "$pid"
"$bin/liaison-bench" rss --pid "$pid"
echo "== done $(date -u +%FT%TZ); $(uptime)"
