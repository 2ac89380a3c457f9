#!/usr/bin/env bash
# local-replicas.sh BINARY: the compose stack without Docker. It runs
# `authserve migrate up` once, then two replicas of the built BINARY on
# 127.0.0.1:18081 and 127.0.0.1:18082 against one PostgreSQL and one Redis,
# with the settings compose.yaml and authserve.env.example give the replicas
# (read from those files, so the two cannot drift), minus TLS and the proxy.
# It checks that the replicas share everything they must share: an account
# registered on one logs in on the other, a token issued by one is accepted
# and refreshed by the other, failed logins on both add up to one lockout,
# and a forged X-Forwarded-For from an untrusted peer is ignored. Then it
# checks `authserve healthcheck` against each, stops both with SIGTERM and
# requires exit status 0.
#
#   AUTH_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/test?sslmode=disable
#   AUTH_REDIS_URL     default redis://127.0.0.1:6379/0 (a Redis Cluster URL works too)
#   AUTH_MIGRATE_DATABASE_URL  passed on when set (AUTH_DATABASE_URL through PgBouncer)
#   KEEP=1             keep the working directory (logs, key) for a look
#
# Exit 0 when every check passed. Bounded: each request times out after 20 s,
# each wait after 30 s; the whole run takes seconds at bcrypt cost 12.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 path/to/authserve (a built binary, e.g. bin/authserve from make build)" >&2
  exit 2
fi
bin=$(realpath "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
db_url=${AUTH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
redis_url=${AUTH_REDIS_URL:-redis://127.0.0.1:6379/0}
ports=(18081 18082)
work=$(mktemp -d)
pids=()

cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  done
  if [ "${KEEP:-}" == 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

say() { printf 'local-replicas: %s\n' "$*"; }
die() {
  say "FAIL: $*" >&2
  local log
  for log in "$work"/replica-*.log; do
    [ -f "$log" ] && { echo "--- last lines of $(basename "$log")" >&2; tail -n 20 "$log" >&2; }
  done
  exit 1
}
# expect WANT GOT WHAT
expect() {
  [ "$1" == "$2" ] || die "$3: got $2, want $1 ($(head -c 300 "$work/body.json" 2>/dev/null))"
  say "$3: $2"
}
# field NAME: a top-level field of the last response body (JSON).
field() {
  python3 -c 'import json, sys
v = json.load(open(sys.argv[1])).get(sys.argv[2], "")
print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$work/body.json" "$1"
}
# request PORT METHOD PATH BODY [CURL ARGS...]: prints the status; the body
# goes to $work/body.json. BODY may be empty.
request() {
  local port=$1 method=$2 path=$3 data=$4
  shift 4
  local args=(-s -o "$work/body.json" -w '%{http_code}' --max-time 20 -X "$method")
  [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data "$data")
  curl "${args[@]}" "$@" "http://127.0.0.1:$port$path" || true
}
# reachable URL: whether host:port of URL accepts TCP connections.
reachable() {
  local hostport
  hostport=$(python3 -c 'import sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1]); print(u.hostname or "127.0.0.1", u.port or int(sys.argv[2]))' "$1" "$2")
  timeout 3 bash -c "exec 3<>/dev/tcp/${hostport% *}/${hostport#* }" 2>/dev/null
}

# --- the replicas' settings ---------------------------------------------------
# authserve.env.example, then compose.yaml's environment of the replicas, then
# what differs without Docker: addresses of the services, a fresh key, and no
# proxy (so no trusted proxies: every peer is the client).
settings=()
while IFS= read -r line; do
  case "$line" in AUTH_DATABASE_URL=* | AUTH_REDIS_URL=*) continue ;; esac
  settings+=("$line")
done < <(grep -E '^AUTH_[A-Z0-9_]+=' "$here/authserve.env.example")
while IFS= read -r line; do
  case "$line" in AUTH_ADDR=* | AUTH_TRUSTED_PROXIES=* | AUTH_JWT_PRIVATE_KEY_FILE=*) continue ;; esac
  settings+=("$line")
done < <(cd "$here/.." && go run ./deploy/composeenv deploy/compose.yaml authserve-1)
settings+=(
  "AUTH_DATABASE_URL=$db_url"
  "AUTH_REDIS_URL=$redis_url"
  "AUTH_JWT_PRIVATE_KEY_FILE=$work/signing.pem"
  # What `authserve keys generate --type aes256` prints: 32 random bytes.
  "AUTH_MFA_ENCRYPTION_KEY=$(head -c 32 /dev/urandom | base64)"
  "AUTH_TRUSTED_PROXIES="
)
# Behind a transaction pooler, migrations go around it (docs/deployment.md).
if [ -n "${AUTH_MIGRATE_DATABASE_URL:-}" ]; then
  settings+=("AUTH_MIGRATE_DATABASE_URL=$AUTH_MIGRATE_DATABASE_URL")
fi
setting() { printf '%s\n' "${settings[@]}" | sed -n "s/^$1=//p" | tail -n 1; }
[ "$(setting AUTH_AUTO_MIGRATE)" == false ] || die "compose.yaml should give the replicas AUTH_AUTO_MIGRATE=false"
# exec_authserve [AUTH_…=value...] ARGS...: replaces the current (sub)shell
# with authserve, run in $work with a clean environment, so that no .env or
# AUTH_* variable of the caller's shell can change what is tested. Started
# with &, $! is then authserve's own process id.
exec_authserve() {
  local extra=()
  while [ $# -gt 0 ] && [[ $1 == AUTH_*=* ]]; do
    extra+=("$1")
    shift
  done
  cd "$work" && exec env -i PATH="$PATH" HOME="$work" "${settings[@]}" "${extra[@]}" "$bin" "$@"
}
# run [AUTH_…=value...] ARGS...: authserve in the foreground.
run() { (exec_authserve "$@"); }

# --- preflight -----------------------------------------------------------------
say "binary: $(run version | head -n 1)"
case "$db_url" in
  postgres://* | postgresql://*) reachable "$db_url" 5432 || die "PostgreSQL at $db_url does not answer" ;;
esac
reachable "$redis_url" 6379 || die "Redis at $redis_url does not answer"
for port in "${ports[@]}"; do
  [ "$(request "$port" GET /healthz '')" == 000 ] || die "something already listens on 127.0.0.1:$port"
done

# --- key and migrations, once ---------------------------------------------------
run keys generate --type ed25519 --out "$work/signing.pem" || die "keys generate"
expect 600 "$(stat -c %a "$work/signing.pem")" "mode of the generated key"
run migrate up >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log" >&2; die "migrate up"; }
say "migrate up: exit 0, once, before the replicas"

# --- two replicas ---------------------------------------------------------------
for i in 0 1; do
  exec_authserve "AUTH_ADDR=127.0.0.1:${ports[$i]}" serve >"$work/replica-$((i + 1)).log" 2>&1 &
  pids+=($!)
done
for i in 0 1; do
  port=${ports[$i]}
  for _ in $(seq 1 300); do
    [ "$(request "$port" GET /healthz '')" == 200 ] && break
    kill -0 "${pids[$i]}" 2>/dev/null || die "replica $((i + 1)) exited at start-up"
    sleep 0.1
  done
  expect 200 "$(request "$port" GET /healthz '')" "replica $((i + 1)) /healthz"
  expect 200 "$(request "$port" GET /readyz '')" "replica $((i + 1)) /readyz"
  run "AUTH_ADDR=127.0.0.1:$port" healthcheck >/dev/null 2>&1 && status=0 || status=$?
  expect 0 "$status" "replica $((i + 1)): authserve healthcheck exit status"
done
a=${ports[0]}
b=${ports[1]}
request "$a" GET /.well-known/jwks.json '' >/dev/null
jwks_a=$(cat "$work/body.json")
request "$b" GET /.well-known/jwks.json '' >/dev/null
if [ "$jwks_a" != "$(cat "$work/body.json")" ] || ! grep -q '"kid"' "$work/body.json"; then
  die "the replicas publish different or empty key sets: $jwks_a / $(cat "$work/body.json")"
fi
say "both replicas publish the same signing key"

# --- shared state -----------------------------------------------------------------
email="replicas-$(date +%s)-$$@example.com"
password="Local-Replicas-$$-Pw"
creds="{\"email\":\"$email\",\"password\":\"$password\"}"
expect 201 "$(request "$a" POST /api/auth/register "$creds")" "register on replica 1"
expect 409 "$(request "$b" POST /api/auth/register "$creds")" "the same email again on replica 2"
expect user_already_exists "$(field code)" "its problem code"
# The peer is not a trusted proxy: its forged X-Forwarded-For must be ignored.
expect 200 "$(request "$b" POST /api/auth/login "$creds" -H 'X-Forwarded-For: 203.0.113.7')" "login on replica 2"
access=$(field access_token)
refresh=$(field refresh_token)
auth=(-H "Authorization: Bearer $access")
expect 200 "$(request "$a" GET /api/auth/me '' "${auth[@]}")" "replica 1 accepts replica 2's access token"
expect "$email" "$(field email)" "the user behind it"
expect 200 "$(request "$a" GET /api/auth/sessions '' "${auth[@]}")" "sessions on replica 1"
client_ip=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[0]["client_ip"])' "$work/body.json")
expect 127.0.0.1 "$client_ip" "client address of the session (forged X-Forwarded-For ignored)"
expect 200 "$(request "$a" POST /api/auth/refresh "{\"refresh_token\":\"$refresh\"}")" "replica 1 refreshes replica 2's refresh token"
refresh2=$(field refresh_token)
expect 204 "$(request "$b" POST /api/auth/logout "{\"refresh_token\":\"$refresh2\"}")" "logout on replica 2"

threshold=$(setting AUTH_LOCKOUT_THRESHOLD)
threshold=${threshold:-5}
wrong="{\"email\":\"$email\",\"password\":\"Wrong-$password\"}"
for n in $(seq 1 "$threshold"); do
  port=${ports[$((n % 2))]}
  expect 401 "$(request "$port" POST /api/auth/login "$wrong")" "wrong password $n of $threshold on 127.0.0.1:$port"
done
expect 429 "$(request "$a" POST /api/auth/login "$creds")" "right password after failures spread over both replicas"
expect account_locked "$(field code)" "its problem code"

for port in "${ports[@]}"; do
  request "$port" GET /metrics '' >/dev/null
  fallback=$(awk '$1 == "authserve_ratelimit_fallback_total" { print $2 }' "$work/body.json")
  expect 0 "${fallback:-0}" "127.0.0.1:$port rate-limit decisions taken without Redis"
done

run user delete "$email" --yes >/dev/null 2>&1 && status=0 || status=$?
expect 0 "$status" "authserve user delete (clean-up)"
run user show "$email" >/dev/null 2>&1 && status=0 || status=$?
[ "$status" -ne 0 ] || die "user show of a deleted user exited 0"
say "user show of the deleted user: exit $status"

# --- shutdown ---------------------------------------------------------------------
shutdown=$(setting AUTH_SHUTDOWN_TIMEOUT)
limit=$(python3 -c 'import re, sys
s = sys.argv[1] or "15s"; u = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
print(int(sum(float(a) * u[b] for a, b in re.findall(r"([0-9.]+)(h|ms|m|s)", s))) + 5)' "$shutdown")
kill -TERM "${pids[@]}"
for i in 0 1; do
  for _ in $(seq 1 $((limit * 10))); do
    kill -0 "${pids[$i]}" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "${pids[$i]}" 2>/dev/null && die "replica $((i + 1)) still runs ${limit}s after SIGTERM"
  wait "${pids[$i]}" && status=0 || status=$?
  expect 0 "$status" "replica $((i + 1)) exit status after SIGTERM"
  run "AUTH_ADDR=127.0.0.1:${ports[$i]}" healthcheck >/dev/null 2>&1 && status=0 || status=$?
  expect 1 "$status" "authserve healthcheck of the stopped replica $((i + 1))"
done

for secret in "$password" "$access" "$refresh" "$refresh2"; do
  if grep -qF -- "$secret" "$work"/replica-*.log "$work/migrate.log"; then
    die "a password or token reached the logs"
  fi
done
say "no password or token in the logs"
say "all checks passed"
