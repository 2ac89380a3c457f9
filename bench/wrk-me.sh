#!/usr/bin/env bash
# bench/wrk-me.sh: GET /api/auth/me with a valid token, driven by wrk (a C
# load generator much lighter than authbench's Go client), against a fresh
# server on SQLite or PostgreSQL. It shows how much of the machine the
# server itself needs per request, with the load generator's share small.
#
#   ENGINE=sqlite|postgres  CONNS=32  DURATION=10s  RUNS=3  bash bench/wrk-me.sh
#   needs wrk (Debian: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
engine=${ENGINE:-sqlite}
conns=${CONNS:-32}
duration=${DURATION:-10s}
runs=${RUNS:-3}
pg_url=${AUTH_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
addr=127.0.0.1:18091
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
mkdir -p bin
CGO_ENABLED=0 go build -trimpath -o bin/authserve ./cmd/authserve
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$work"' EXIT

case $engine in
sqlite) url="sqlite:$work/wrk.db" ;;
postgres)
  psql "$pg_url" -qAt -c "DROP DATABASE IF EXISTS authbench_wrk WITH (FORCE)" -c "CREATE DATABASE authbench_wrk" >/dev/null
  url=$(printf '%s' "$pg_url" | sed 's#/[^/?]*\([?]\|$\)#/authbench_wrk\1#')
  ;;
*) echo "ENGINE must be sqlite or postgres" >&2; exit 2 ;;
esac
env -i PATH="$PATH" AUTH_ADDR="$addr" AUTH_DATABASE_URL="$url" AUTH_BCRYPT_COST=10 \
  AUTH_JWT_SECRET=load-benchmark-secret-0123456789-abcdef AUTH_RATE_LIMIT_PER_MINUTE=0 \
  bin/authserve >"$work/server.log" 2>&1 &
pid=$!
for i in $(seq 1 100); do
  curl -fsS -o /dev/null "http://$addr/readyz" 2>/dev/null && break
  [ "$i" == 100 ] && { cat "$work/server.log" >&2; exit 1; }
  sleep 0.05
done
body='{"email":"wrk@example.com","password":"Wrk-Bench-Passw0rd"}'
curl -fsS -o /dev/null -H 'Content-Type: application/json' -d "$body" "http://$addr/api/auth/register"
token=$(curl -fsS -H 'Content-Type: application/json' -d "$body" "http://$addr/api/auth/login" |
  sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "no token" >&2; exit 1; }
for n in $(seq 1 "$runs"); do
  echo "== $engine, $conns connections, run $n/$runs"
  wrk -t2 -c"$conns" -d"$duration" --latency -H "Authorization: Bearer $token" "http://$addr/api/auth/me" |
    grep -E 'Requests/sec|Non-2xx|50%|99%|requests in'
done
kill -TERM "$pid"
wait "$pid"
pid=
[ "$engine" == postgres ] && psql "$pg_url" -qAt -c "DROP DATABASE IF EXISTS authbench_wrk WITH (FORCE)" >/dev/null
exit 0
