#!/usr/bin/env bash
# bench/profile.sh: CPU and allocation profiles of GET /api/auth/me, login and
# start-up, on SQLite and PostgreSQL, for docs/performance. It needs a binary
# built with the profiling hooks (never a release build):
#
#   go build -tags profile -o bin/authserve-prof ./cmd/authserve
#   BIN=bin/authserve-prof OUT=docs/performance/profiles/after bash bench/profile.sh
#
# For each engine: start-up under a CPU profile and an execution trace (fresh
# database, default bcrypt cost), then a server at cost 10 with
# AUTH_LOG_LEVEL=info driven by authbench (me@32, then login@8) while
# /debug/pprof/profile records SECONDS seconds of each. Text summaries
# (go tool pprof -top) are written beside the profiles.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-bin/authserve-prof}
out=${OUT:-bench-profiles}
seconds=${SECONDS_PER_PROFILE:-8}
engines=${ENGINES:-sqlite postgres}
pg_url=${AUTH_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
port=${PORT:-18290}
mkdir -p "$out" bin
go build -o bin/authbench ./cmd/authbench
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

pg_admin() { psql "$pg_url" -qAt -v ON_ERROR_STOP=1 -c "$1" >/dev/null; }
db_url() { # engine name
  case $1 in
  sqlite) echo "sqlite:$work/$2.db" ;;
  postgres)
    pg_admin "DROP DATABASE IF EXISTS $2 WITH (FORCE)"
    pg_admin "CREATE DATABASE $2"
    printf '%s' "$pg_url" | sed "s#/[^/?]*\([?]\|\$\)#/$2\1#"
    ;;
  esac
}
wait_ok() { for _ in $(seq 1 3000); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.01; done; return 1; }
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=; }

for engine in $engines; do
  # Start-up.
  url=$(db_url "$engine" prof_startup)
  env -i PATH="$PATH" AUTH_ADDR=127.0.0.1:$port AUTH_DATABASE_URL="$url" AUTH_JWT_SECRET=profile-secret-0123456789-abcdefghij \
    AUTH_STARTUP_CPUPROFILE="$out/startup-$engine.cpu" AUTH_STARTUP_TRACE="$out/startup-$engine.trace" \
    "$bin" >"$work/startup.log" 2>&1 &
  pid=$!
  wait_ok "http://127.0.0.1:$port/readyz"
  sleep 0.5
  stop
  # me and login under load.
  url=$(db_url "$engine" prof_load)
  env -i PATH="$PATH" AUTH_ADDR=127.0.0.1:$port AUTH_PPROF_ADDR=127.0.0.1:$((port + 1)) AUTH_DATABASE_URL="$url" \
    AUTH_JWT_SECRET=profile-secret-0123456789-abcdefghij AUTH_BCRYPT_COST=10 AUTH_RATE_LIMIT_PER_MINUTE=0 \
    AUTH_LOCKOUT_THRESHOLD=0 AUTH_LOCKOUT_ACCOUNT_THRESHOLD=0 AUTH_LOG_LEVEL=info \
    "$bin" >"$work/server.log" 2>&1 &
  pid=$!
  wait_ok "http://127.0.0.1:$port/readyz"
  for phase in me:32 login:8; do
    kind=${phase%%:*}
    bin/authbench --addr "http://127.0.0.1:$port" --users 16 --phases "$phase" --duration $((seconds + 4))s \
      --bound-duration 0.2s >"$out/$kind-$engine.txt" 2>"$work/authbench.err" &
    bpid=$!
    for _ in $(seq 1 600); do grep -q "phase 1/1" "$work/authbench.err" && break; sleep 0.1; done
    sleep 1
    curl -fsS -o "$out/$kind-$engine.cpu" "http://127.0.0.1:$((port + 1))/debug/pprof/profile?seconds=$seconds"
    curl -fsS -o "$out/$kind-$engine.allocs" "http://127.0.0.1:$((port + 1))/debug/pprof/allocs"
    wait "$bpid"
  done
  stop
  [ "$engine" == postgres ] && pg_admin "DROP DATABASE IF EXISTS prof_startup WITH (FORCE)" && pg_admin "DROP DATABASE IF EXISTS prof_load WITH (FORCE)"
  for f in "$out"/*-"$engine".cpu; do
    go tool pprof -top -nodecount=40 "$f" >"${f%.cpu}.cpu.top.txt" 2>/dev/null || true
    go tool pprof -top -cum -nodecount=60 "$f" >"${f%.cpu}.cpu.cum.txt" 2>/dev/null || true
  done
  for f in "$out"/*-"$engine".allocs; do
    go tool pprof -top -sample_index=alloc_space -nodecount=30 "$f" >"${f%.allocs}.allocs.top.txt" 2>/dev/null || true
  done
done
echo "profiles written to $out" >&2
