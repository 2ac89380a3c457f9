#!/usr/bin/env bash
# bench/load.sh: docs/performance.md's round-1 figures, reproducible. For each
# engine (SQLite, and PostgreSQL when its URL answers) it runs RUNS times:
# start a fresh server (an empty database) at bcrypt cost 10, time start to
# ready, read its idle resident memory, drive it with authbench, stop it with
# SIGTERM. Then it prints the medians of the runs (authbench median) and
# writes every run's JSON, the medians and their SVG charts to OUT.
#
#   RUNS=3  OUT=bench-results  DURATION=10s  PHASES=...  bash bench/load.sh
#   AUTH_BENCH_POSTGRES_URL  default postgres://postgres@127.0.0.1:5432/test?sslmode=disable;
#                            the run creates and drops a database authbench_load there
#   ENGINES="sqlite postgres" (default both)
#
# Server and load tool share the machine's cores, as they would on a small
# host; close other work first. Every loop is bounded: the tool's phases by
# time and count, each wait here by 100 tries.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-3}
out=${OUT:-bench-results}
duration=${DURATION:-10s}
phases=${PHASES:-login:1,8,32,64;register:8;me:32;refresh:8}
engines=${ENGINES:-sqlite postgres}
pg_url=${AUTH_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
port=18090
addr=127.0.0.1:$port
mkdir -p "$out" bin
CGO_ENABLED=0 go build -trimpath -o bin/authserve ./cmd/authserve
go build -o bin/authbench ./cmd/authbench

work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

# pg_admin SQL: runs one statement on the PostgreSQL server of pg_url.
pg_admin() { psql "$pg_url" -qAt -v ON_ERROR_STOP=1 -c "$1" >/dev/null; }

# start ENGINE RUN: starts a fresh server; sets pid, ready (ms from start to
# a 200 from /readyz) and rss (KiB resident when idle).
start() {
  local engine=$1 n=$2 url
  case $engine in
  sqlite) url="sqlite:$work/bench-$n.db" ;;
  postgres)
    pg_admin "DROP DATABASE IF EXISTS authbench_load WITH (FORCE)"
    pg_admin "CREATE DATABASE authbench_load"
    url=$(printf '%s' "$pg_url" | sed 's#/[^/?]*\([?]\|$\)#/authbench_load\1#')
    ;;
  esac
  local t0
  t0=$(now_ms)
  env -i PATH="$PATH" AUTH_ADDR="$addr" AUTH_DATABASE_URL="$url" AUTH_BCRYPT_COST=10 \
    AUTH_JWT_SECRET=load-benchmark-secret-0123456789-abcdef AUTH_RATE_LIMIT_PER_MINUTE=0 \
    AUTH_LOCKOUT_THRESHOLD=0 AUTH_LOCKOUT_ACCOUNT_THRESHOLD=0 AUTH_LOG_LEVEL=warn \
    bin/authserve >"$work/server-$engine-$n.log" 2>&1 &
  pid=$!
  local i
  for i in $(seq 1 300); do
    if curl -fsS -o /dev/null "http://$addr/readyz" 2>/dev/null; then break; fi
    [ "$i" == 300 ] && { cat "$work/server-$engine-$n.log" >&2; echo "server did not become ready" >&2; exit 1; }
    sleep 0.01
  done
  ready=$(($(now_ms) - t0))
  sleep 2 # idle, after start-up's garbage is collectable
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
}

stop() {
  kill -TERM "$pid"
  local status=0
  wait "$pid" || status=$?
  pid=
  [ "$status" == 0 ] || { echo "server exited with status $status" >&2; exit 1; }
}

summary=$out/summary.txt
: >"$summary"
for engine in $engines; do
  if [ "$engine" == postgres ] && ! pg_isready -d "$pg_url" >/dev/null 2>&1; then
    echo "PostgreSQL at $pg_url does not answer: skipping it" | tee -a "$summary"
    continue
  fi
  files=()
  readies=()
  rsss=()
  for n in $(seq 1 "$runs"); do
    start "$engine" "$n"
    readies+=("$ready")
    rsss+=("$rss")
    echo "== $engine run $n/$runs: ready in ${ready} ms, idle RSS $((rss / 1024)) MiB" >&2
    bin/authbench --addr "http://$addr" --bcrypt-cost 10 --duration "$duration" --phases "$phases" \
      --probe-healthz --json "$out/$engine-$n.json" >"$out/$engine-$n.txt"
    stop
    [ "$engine" == postgres ] && pg_admin "DROP DATABASE IF EXISTS authbench_load WITH (FORCE)"
    files+=("$out/$engine-$n.json")
  done
  med() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
  {
    echo "## $engine: medians of $runs runs"
    echo "start to ready: $(med "${readies[@]}") ms (runs: ${readies[*]})"
    echo "idle RSS: $(med "${rsss[@]}") KiB (runs: ${rsss[*]})"
    bin/authbench median --json "$out/$engine-median.json" --svg "$out/$engine-median.svg" "${files[@]}"
    echo
  } | tee -a "$summary"
done
echo "written: $out/ (summary.txt, per-run and median JSON, median SVG charts)" >&2
