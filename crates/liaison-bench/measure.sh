#!/usr/bin/env bash
# Measures scenarios on an existing generated set, one fresh server per scenario, so that two
# builds can be compared by alternating them (this machine's speed drifts by 20-30 % within an
# hour; only alternating runs tell builds apart, docs/benchmarks.md, seventh pass).
#
#   crates/liaison-bench/measure.sh sqlite|postgres SCENARIO...
#
# SCENARIO: inbox, search, track, mixed, ledger, or intake. Do not run intake before inbox on
# the same set: its new 待受理 items change the lists.
# Environment: BIN (directory holding the liaison and liaison-bench binaries to measure,
# default target/release), BENCH_DIR (the set's directory, default
# /tmp/liaison-bench-<backend>, as run.sh leaves it with BENCH_KEEP=1), BENCH_PG (admin URL),
# BENCH_PORT (18080), BENCH_CORPUS, BENCH_DURATION (20 s), BENCH_INTAKE (8000), BENCH_CLIENTS (32).
set -uo pipefail

backend=${1:?usage: measure.sh sqlite|postgres SCENARIO...}
shift
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${BIN:-$root/target/release}
work=${BENCH_DIR:-/tmp/liaison-bench-$backend}
port=${BENCH_PORT:-18080}
pg_admin=${BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}
corpus=${BENCH_CORPUS:-/work/shared/data/gov-messages}
case $backend in
  sqlite) url="sqlite://$work/liaison.db" ;;
  postgres) url="${pg_admin%/*}/liaison_bench" ;;
  *) echo "backend must be sqlite or postgres" >&2; exit 2 ;;
esac

# CPU time of all PostgreSQL server processes in clock ticks (its share of a scenario's cost).
pg_cpu() {
  local total=0 pid
  for pid in $(pgrep -x postgres); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

for scenario in "$@"; do
  LIAISON_PUBLIC_RATE_PER_MIN=1000000000 "$bin/liaison" --data-dir "$work" --database-url "$url" \
    --addr "127.0.0.1:$port" serve >"$work/server-$scenario.log" 2>&1 &
  pid=$!
  started=$(date +%s)
  for _ in $(seq 1 60); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 1
  done
  # Until the server is idle (start-up merge of the search index, replay of staff
  # corrections into the classifier): three seconds in a row with under 50 ms of its CPU.
  quiet=0
  previous=0
  for _ in $(seq 1 120); do
    now=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    if [ $((now - previous)) -lt 5 ]; then quiet=$((quiet + 1)); else quiet=0; fi
    previous=$now
    [ "$quiet" -ge 3 ] && break
    sleep 1
  done
  echo "== $scenario: $bin, server idle $(($(date +%s) - started)) s after start; $(uptime)"
  before=$(pg_cpu)
  if [ "$scenario" = intake ]; then
    "$bin/liaison-bench" intake --url "http://127.0.0.1:$port" --database-url "$url" \
      --data-dir "$work" --corpus "$corpus" --count "${BENCH_INTAKE:-8000}" --concurrency "${BENCH_CLIENTS:-32}" \
      --server-pid "$pid"
  else
    "$bin/liaison-bench" load --url "http://127.0.0.1:$port" --database-url "$url" \
      --data-dir "$work" --corpus "$corpus" --concurrency "${BENCH_CLIENTS:-32}" --duration "${BENCH_DURATION:-20}" \
      --scenarios "$scenario" --server-pid "$pid"
  fi
  if [ "$backend" = postgres ]; then
    awk -v t=$(($(pg_cpu) - before)) -v hz="$(getconf CLK_TCK)" \
      'BEGIN { printf "PostgreSQL processes: %.2f s of CPU\n", t / hz }'
  fi
  kill "$pid"
  wait "$pid" 2>/dev/null
done
