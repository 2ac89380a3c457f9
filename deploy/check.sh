#!/usr/bin/env bash
# check.sh: checks, without Docker, that the deployment files agree with each
# other and with the code: every AUTH_* variable they name exists, ports and
# paths match (8080, /healthz, /readyz, /data), the proxy's upstreams are the
# replicas, the trusted-proxy CIDR is the proxy network's subnet, migrations
# run once before the replicas, pools fit PostgreSQL, and no secret can reach
# an image. When deploy/authserve.env and deploy/secrets/ exist it checks them
# too, printing no secret.
#
# Usage: bash deploy/check.sh    (exit 0: all agree; 1: a mismatch, listed)
# Needs bash, python3 (standard library; PyYAML is used when installed, and
# checked against the built-in parser), grep, awk; go when available.
# ok and fail always succeed, so "TEST && ok ... || fail ..." is an
# if-then-else here.
# shellcheck disable=SC2015
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
compose=$here/compose.yaml
caddyfile=$here/Caddyfile
envexample=$here/authserve.env.example
envfile=$here/authserve.env
alerts=$here/prometheus/alerts.yml
dockerfile=$root/Dockerfile
dockerignore=$root/.dockerignore
guide=$root/docs/deployment.md

checks=0
failures=0
ok() { checks=$((checks + 1)); printf 'ok    %s\n' "$*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); printf 'FAIL  %s\n' "$*"; }
skip() { printf 'skip  %s\n' "$*"; }
section() { printf '\n== %s\n' "$*"; }
# expect WHAT GOT WANT: ok when equal, else a failure showing both.
expect() {
  if [ "$2" == "$3" ]; then ok "$1: $2"; else fail "$1: got '$2', want '$3'"; fi
}
# check WHAT COMMAND...: ok when the command succeeds; else a failure,
# followed by what the command printed.
check() {
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then
    ok "$what"
  else
    fail "$what"
    printf '      %s\n' "${out//$'\n'/$'\n'      }" | tail -n 20
  fi
}

# in_lines WORD LINES: whether one of LINES is exactly WORD. (A here-string,
# not a pipe: with pipefail, "producer | grep -q" fails when grep exits early.)
in_lines() { grep -qxF -- "$1" <<<"$2"; }

yq() { python3 "$here/yamlq.py" "$@"; }
# compose.yaml is read once (below) into $flat, one line per node, and the
# services' environments into $envs: one python3 per lookup is too slow.
flat=$(mktemp)
trap 'rm -f "$flat"' EXIT
declare -A envs
# q PATH: what `yamlq.py compose.yaml get PATH` prints; status 1 if absent.
q() {
  awk -F $'\036' -v p="$1" '$1 == p { found = 1; if ($2 != "") print $2 } END { exit !found }' "$flat" | tr '\037' '\n'
}
# svcenv SERVICE NAME: the value compose.yaml's environment gives NAME.
svcenv() { sed -n "s/^$2=//p" <<<"${envs[$1]:-}"; }
# envval FILE NAME: the value an env file assigns NAME (last assignment).
envval() { sed -n "s/^$2=//p" "$1" | tail -n 1; }
# cidrs LIST: a comma-separated CIDR list, normalised and sorted.
cidrs() {
  python3 -c 'import ipaddress, sys
print(",".join(sorted(str(ipaddress.ip_network(x.strip(), strict=False)) for x in sys.argv[1].split(",") if x.strip())))' "$1"
}
# seconds DURATION: a Go or Compose duration (1m30s, 500ms, 20s) in seconds.
seconds() {
  python3 -c 'import re, sys
s = sys.argv[1]; units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6, "ns": 1e-9}
parts = re.findall(r"([0-9.]+)(h|ms|us|ns|m|s)", s)
assert parts and "".join(a + b for a, b in parts) == s, s
print(sum(float(a) * units[b] for a, b in parts))' "$1"
}
# urlparts URL: its scheme, hostname, port, username, password and path,
# one per line (empty when absent).
urlparts() {
  python3 -c 'import sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
for v in (u.scheme, u.hostname, u.port, u.username, u.password, u.path): print("" if v is None else v)' "$1"
}

for f in "$dockerfile" "$dockerignore" "$compose" "$caddyfile" "$envexample" "$alerts" "$guide" \
  "$here/local-replicas.sh" "$here/yamlq.py"; do
  if [ ! -f "$f" ]; then
    echo "check.sh: missing $f" >&2
    exit 1
  fi
done

# ---------------------------------------------------------------------------
section "YAML"
python3 -c 'import yaml' 2>/dev/null && ok "PyYAML is installed: the built-in parser is checked against it" ||
  skip "PyYAML is not installed: YAML is read by the built-in subset parser (deploy/yamlq.py)"
check "yamlq.py unit tests" python3 "$here/yamlq_test.py"
for f in "$compose" "$alerts"; do
  check "${f#"$root"/} parses (and both parsers agree)" yq "$f" selftest
done
if ! yq "$compose" flat >"$flat"; then
  echo "check.sh: cannot read compose.yaml; nothing more to check" >&2
  exit 1
fi
for s in $(q services); do
  envs[$s]=$(yq "$compose" env "$s") || fail "services.$s.environment: values must be strings"
done

# ---------------------------------------------------------------------------
section "AUTH_* variables"
known=()
if [ -f "$root/.env.example" ]; then
  mapfile -t known < <(grep -oE '^#? *AUTH_[A-Z0-9_]+=' "$root/.env.example" | grep -oE 'AUTH_[A-Z0-9_]+' | sort -u)
  ok ".env.example lists ${#known[@]} variables"
else
  skip ".env.example does not exist yet: variable names are checked against internal/config only"
fi
configured=()
if compgen -G "$root/internal/config/*.go" >/dev/null; then
  mapfile -t configured < <(grep -ohE 'env:"AUTH_[A-Z0-9_]+' "$root"/internal/config/*.go | sed 's/env:"//' | sort -u)
fi
sources=("$dockerfile" "$compose" "$envexample" "$caddyfile" "$alerts" "$guide" "$here/local-replicas.sh")
[ -f "$envfile" ] && sources+=("$envfile")
mapfile -t named < <(grep -ohE '\bAUTH_[A-Z0-9]+(_[A-Z0-9]+)*' "${sources[@]}" | sort -u)
unknown=()
for v in "${named[@]}"; do
  if [ ${#known[@]} -gt 0 ] && ! in_lines "$v" "$(printf '%s\n' "${known[@]}")"; then
    unknown+=("$v (not in .env.example)")
  elif [ ${#configured[@]} -gt 0 ] && ! in_lines "$v" "$(printf '%s\n' "${configured[@]}")"; then
    unknown+=("$v (not read by internal/config)")
  fi
done
if [ ${#known[@]} -eq 0 ] && [ ${#configured[@]} -eq 0 ]; then
  skip "no .env.example and no internal/config: ${#named[@]} variable names unchecked"
elif [ ${#unknown[@]} -eq 0 ]; then
  ok "all ${#named[@]} AUTH_* variables named in Dockerfile, compose.yaml, Caddyfile, env files, alerts, local-replicas.sh and docs/deployment.md exist"
else
  fail "unknown variables: ${unknown[*]}"
fi

# ---------------------------------------------------------------------------
section "Dockerfile"
# Instructions with their continuation lines joined.
df=$(awk '{ if (sub(/\\$/, "")) printf "%s", $0; else print }' "$dockerfile" | grep -vE '^\s*#')
final_from=$(grep -E '^FROM ' <<<"$df" | tail -n 1 | awk '{ print $2 }')
[ "$(grep -cE '^FROM ' <<<"$df")" -ge 2 ] && ok "multi-stage build" || fail "multi-stage build: one FROM only"
if [[ $final_from =~ ^gcr\.io/distroless/static(-debian[0-9]+)?:nonroot$|^scratch$ ]]; then
  ok "final image is minimal: $final_from"
else
  fail "final image $final_from: want gcr.io/distroless/static-debian12:nonroot or scratch"
fi
build=$(grep -E 'go build' <<<"$df")
for flag in 'CGO_ENABLED=0' '-trimpath' '-s -w' '-X main.version='; do
  [[ $build == *"$flag"* ]] && ok "go build uses $flag" || fail "go build lacks $flag"
done
check "cmd/authserve has the variable main.version that -X sets" grep -qE '^(var )?[[:space:]]*version[[:space:]]+='  "$root"/cmd/authserve/*.go
gomod_go=$(awk '$1 == "go" { print $2 }' "$root/go.mod")
gomod_toolchain=$(awk '$1 == "toolchain" { sub("^go", "", $2); print $2 }' "$root/go.mod")
image_go=$(grep -oE '^ARG GO_VERSION=[0-9.]+' <<<"$df" | cut -d= -f2)
if [ -n "$image_go" ] && [ "$(printf '%s\n%s\n' "$gomod_go" "$image_go" | sort -V | head -n 1)" == "$gomod_go" ]; then
  ok "builder Go $image_go >= go.mod's go $gomod_go"
else
  fail "builder Go '$image_go' is older than go.mod's go $gomod_go (the golang image has GOTOOLCHAIN=local)"
fi
expect "builder Go = go.mod's toolchain (the patched one)" "$image_go" "$gomod_toolchain"
user=$(grep -E '^USER ' <<<"$df" | tail -n 1 | awk '{ print $2 }')
uid=${user%%:*}
if [ -n "$uid" ] && [ "$uid" != root ] && [ "$uid" != 0 ]; then ok "runs as non-root user $user"; else fail "USER '$user' is root or missing"; fi
expose=$(grep -E '^EXPOSE ' <<<"$df" | awk '{ print $2 }')
expect "EXPOSE" "$expose" 8080
image_addr=$(grep -oE 'AUTH_ADDR=[^ ]+' <<<"$df" | cut -d= -f2)
expect "image AUTH_ADDR port" "${image_addr##*:}" "$expose"
grep -qE '^VOLUME .*"?/data"?' <<<"$df" && ok "VOLUME /data" || fail "no VOLUME /data"
image_db=$(grep -oE 'AUTH_DATABASE_URL=[^ ]+' <<<"$df" | cut -d= -f2)
expect "image AUTH_DATABASE_URL" "$image_db" "sqlite:/data/authserve.db"
data_owner=$(grep -E '^COPY .*--chown=[^ ]+ .* /data$' <<<"$df" | grep -oE -- '--chown=[^ ]+' | cut -d= -f2)
expect "/data is owned by the USER" "$data_owner" "$user"
bin=$(grep -E '^ENTRYPOINT ' <<<"$df" | grep -oE '"[^"]+"' | head -n 1 | tr -d '"')
grep -qE "^COPY --from=[^ ]+ [^ ]+ $bin\$" <<<"$df" && ok "binary copied to the ENTRYPOINT $bin" || fail "ENTRYPOINT $bin is not where the binary is copied"
hc=$(grep -E '^HEALTHCHECK ' <<<"$df")
if [[ $hc =~ CMD\ \[\"$bin\",\ *\"healthcheck\"\] ]]; then
  ok "HEALTHCHECK runs '$bin healthcheck' in exec form (no shell in the image)"
else
  fail "HEALTHCHECK: want CMD [\"$bin\", \"healthcheck\"], got: $hc"
fi

# ---------------------------------------------------------------------------
section ".dockerignore"
patterns=$(grep -vE '^\s*(#|$)' "$dockerignore")
expect "first pattern excludes everything" "$(head -n 1 <<<"$patterns")" "*"
mapfile -t allowed < <(grep -E '^!' <<<"$patterns" | sed 's/^!//; s#/$##')
# covered PATH: whether a re-included pattern lets PATH into the context.
covered() {
  local a
  for a in "${allowed[@]}"; do
    [[ $1 == "$a" || $1 == "$a"/* ]] && return 0
  done
  return 1
}
leaks=()
for p in .git .env deploy/authserve.env deploy/secrets/jwt_signing_key.pem authserve.db authserve.db.key authserve.key bin/authserve; do
  covered "$p" && leaks+=("$p")
done
[ ${#leaks[@]} -eq 0 ] && ok "no secret, database or local build can enter the build context" || fail "the build context would include ${leaks[*]}"
needed=(go.mod go.sum)
if command -v go >/dev/null 2>&1; then
  mapfile -t dirs < <(cd "$root" && go list -deps -f '{{if .Module}}{{if .Module.Main}}{{.Dir}}{{end}}{{end}}' ./cmd/authserve 2>/dev/null)
  for d in "${dirs[@]}"; do needed+=("${d#"$root"/}"); done
  [ ${#dirs[@]} -gt 0 ] || skip "go list found no packages of ./cmd/authserve (does it build?)"
else
  skip "go is not installed: checking cmd/ and internal/ only"
  needed+=(cmd/authserve internal)
fi
missing=()
for p in "${needed[@]}"; do covered "$p" || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && ok "the build context has go.mod, go.sum and all ${#needed[@]} inputs of ./cmd/authserve" ||
  fail "the build context lacks ${missing[*]}"

# ---------------------------------------------------------------------------
section "compose.yaml: services"
mapfile -t services < <(q services)
replicas=()
migrate_svc=
for s in "${services[@]}"; do
  image=$(q "services.$s.image")
  command=$(q "services.$s.command" | paste -sd' ' -)
  case "$image" in authserve:*) ;; *) continue ;; esac
  case "$command" in
    serve) replicas+=("$s") ;;
    "migrate up") migrate_svc=$s ;;
    *) fail "service $s runs the authserve image with an unexpected command '$command'" ;;
  esac
done
pg_svc=$(for s in "${services[@]}"; do [[ $(q "services.$s.image") == postgres:* ]] && echo "$s"; done | head -n 1)
redis_svc=$(for s in "${services[@]}"; do [[ $(q "services.$s.image") == redis:* ]] && echo "$s"; done | head -n 1)
proxy_svc=$(for s in "${services[@]}"; do [[ $(q "services.$s.image") == caddy:* ]] && echo "$s"; done | head -n 1)
[ ${#replicas[@]} -ge 2 ] && ok "authserve replicas: ${replicas[*]}" || fail "want at least two authserve replicas, found ${#replicas[@]}"
[ -n "$migrate_svc" ] && ok "one-shot migrate service: $migrate_svc" || fail "no service runs 'authserve migrate up'"
[ -n "$pg_svc" ] && ok "PostgreSQL service: $pg_svc" || fail "no PostgreSQL service"
[ -n "$redis_svc" ] && ok "Redis service: $redis_svc" || fail "no Redis service"
[ -n "$proxy_svc" ] && ok "reverse proxy service: $proxy_svc" || fail "no Caddy service"

if [ -n "$migrate_svc" ]; then
  expect "$migrate_svc restart" "$(q "services.$migrate_svc.restart")" "no"
  expect "$migrate_svc waits for" "$(q "services.$migrate_svc.depends_on.$pg_svc.condition")" service_healthy
  expect "$migrate_svc image" "$(q "services.$migrate_svc.image")" "$(q "services.${replicas[0]}.image")"
fi
shutdown=$(envval "$envexample" AUTH_SHUTDOWN_TIMEOUT)
for s in "${replicas[@]}"; do
  env=${envs[$s]}
  expect "$s AUTH_AUTO_MIGRATE" "$(sed -n 's/^AUTH_AUTO_MIGRATE=//p' <<<"$env")" false
  expect "$s waits for $migrate_svc" "$(q "services.$s.depends_on.$migrate_svc.condition")" service_completed_successfully
  expect "$s waits for $pg_svc" "$(q "services.$s.depends_on.$pg_svc.condition")" service_healthy
  expect "$s waits for $redis_svc" "$(q "services.$s.depends_on.$redis_svc.condition")" service_healthy
  addr=$(sed -n 's/^AUTH_ADDR=//p' <<<"$env")
  expect "$s listens on the image's EXPOSE port" "${addr:-$image_addr}" ":$expose"
  expect "$s health check" "$(q "services.$s.healthcheck.test" | paste -sd' ' -)" "CMD $bin healthcheck"
  q "services.$s.ports" >/dev/null && fail "$s publishes ports: only the proxy may be reachable from outside" ||
    ok "$s publishes no port (reachable only through the proxy)"
  in_lines authserve.env "$(q "services.$s.env_file")" && ok "$s reads authserve.env" || fail "$s does not read authserve.env"
  grace=$(q "services.$s.stop_grace_period")
  wait_s=$(sed -n 's/^AUTH_SHUTDOWN_TIMEOUT=//p' <<<"$env")
  wait_s=${wait_s:-${shutdown:-15s}}
  if [ -n "$grace" ] && python3 -c 'import sys; sys.exit(not float(sys.argv[1]) > float(sys.argv[2]))' "$(seconds "$grace")" "$(seconds "$wait_s")"; then
    ok "$s stop_grace_period $grace > AUTH_SHUTDOWN_TIMEOUT $wait_s"
  else
    fail "$s stop_grace_period '${grace:-10s (default)}' must exceed AUTH_SHUTDOWN_TIMEOUT $wait_s, or Docker kills requests mid-drain"
  fi
  key=$(sed -n 's/^AUTH_JWT_PRIVATE_KEY_FILE=//p' <<<"$env")
  name=${key#/run/secrets/}
  if [[ $key == /run/secrets/* ]] && in_lines "$name" "$(q "services.$s.secrets")" && [ -n "$(q "secrets.$name.file")" ]; then
    ok "$s signing key $key is the compose secret $name ($(q "secrets.$name.file"))"
  else
    fail "$s AUTH_JWT_PRIVATE_KEY_FILE '$key' is not a compose secret mounted in the service"
  fi
done

# ---------------------------------------------------------------------------
section "compose.yaml: networks and trusted proxies"
# networks_of SERVICE: the networks a service joins (list or mapping form).
networks_of() { q "services.$1.networks" | sort; }
proxy_nets=$(networks_of "$proxy_svc")
trusted_nets=
for s in "${replicas[@]}"; do
  shared=$(comm -12 <(echo "$proxy_nets") <(networks_of "$s"))
  if [ -z "$shared" ]; then
    fail "$s shares no network with $proxy_svc"
    continue
  fi
  subnets=""
  for n in $shared; do
    subnets+=$(q "networks.$n.ipam.config" | python3 -c 'import json, sys
print(",".join(json.loads(l).get("subnet", "") for l in sys.stdin if l.strip()))'),
  done
  want=$(cidrs "$subnets")
  got=$(cidrs "$(svcenv "$s" AUTH_TRUSTED_PROXIES)")
  if [ -z "$want" ]; then
    fail "network(s) $shared of $proxy_svc and $s have no fixed subnet: AUTH_TRUSTED_PROXIES cannot be exact"
  else
    expect "$s AUTH_TRUSTED_PROXIES is the subnet of network $shared" "$got" "$want"
  fi
  trusted_nets+=$'\n'$shared
done
mapfile -t trusted < <(grep -v '^$' <<<"$trusted_nets" | sort -u)
for n in "${trusted[@]}"; do
  others=()
  for t in "${services[@]}"; do
    [ "$t" == "$proxy_svc" ] && continue
    in_lines "$t" "$(printf '%s\n' "${replicas[@]}")" && continue
    in_lines "$n" "$(networks_of "$t")" && others+=("$t")
  done
  [ ${#others[@]} -eq 0 ] && ok "only $proxy_svc and the replicas join the trusted network $n" ||
    fail "on the trusted network $n, these could forge X-Forwarded-For: ${others[*]}"
done
for s in "$pg_svc" "$redis_svc"; do
  [ -n "$s" ] || continue
  n=$(networks_of "$s" | paste -sd' ' -)
  internal=yes
  for m in $n; do [ "$(q "networks.$m.internal")" == true ] || internal=no; done
  [ "$internal" == yes ] && ok "$s is only on internal networks ($n)" || fail "$s is on a network with a way out: $n"
done
mapfile -t ports < <(q "services.$proxy_svc.ports")
grep -qE '(^|:)443(/tcp)?$' <<<"$(printf '%s\n' "${ports[@]}")" && ok "$proxy_svc publishes 443" || fail "$proxy_svc does not publish 443"
in_lines ./Caddyfile:/etc/caddy/Caddyfile:ro "$(q "services.$proxy_svc.volumes")" && ok "$proxy_svc mounts deploy/Caddyfile read-only" ||
  fail "$proxy_svc does not mount ./Caddyfile at /etc/caddy/Caddyfile"

# ---------------------------------------------------------------------------
section "compose.yaml: PostgreSQL connections"
maxconn=$(q "services.$pg_svc.command" | sed -n 's/^max_connections=//p')
maxconn=${maxconn:-100}
open=$(svcenv "${replicas[0]}" AUTH_DB_MAX_OPEN_CONNS)
[ -z "$open" ] || [ "$open" == 0 ] && open=10 # the store's default for PostgreSQL
# During a rolling upgrade one more replica runs; the migrate job and an
# admin session take one each; PostgreSQL keeps 3 for superusers.
need=$(((${#replicas[@]} + 1) * open + 2 + 3))
[ "$need" -le "$maxconn" ] && ok "(${#replicas[@]} replicas + 1) x $open connections + 2 + 3 reserved = $need <= max_connections $maxconn" ||
  fail "(${#replicas[@]} replicas + 1) x $open connections + 2 + 3 reserved = $need > max_connections $maxconn"

# ---------------------------------------------------------------------------
section "authserve.env.example (and authserve.env when present)"
# Variables compose.yaml sets override the env file, so setting them there
# would be silently ignored.
mapfile -t overridden < <(cut -d= -f1 <<<"${envs[${replicas[0]}]}")
pg_user=$(svcenv "$pg_svc" POSTGRES_USER)
pg_db=$(svcenv "$pg_svc" POSTGRES_DB)
# check_envfile FILE LABEL: the checks every env file for the stack passes.
check_envfile() {
  local file=$1 label=$2 v db rd
  for v in "${overridden[@]}"; do
    grep -qE "^$v=" "$file" && fail "$label sets $v, which compose.yaml overrides"
  done
  expect "$label AUTH_ENV" "$(envval "$file" AUTH_ENV)" production
  [ -z "$(envval "$file" AUTH_JWT_SECRET)" ] && ok "$label sets no AUTH_JWT_SECRET (the key file signs)" ||
    fail "$label sets AUTH_JWT_SECRET as well as the key file"
  local cost
  cost=$(envval "$file" AUTH_BCRYPT_COST)
  [ "${cost:-12}" -ge 10 ] 2>/dev/null && ok "$label bcrypt cost ${cost:-12} >= 10" || fail "$label AUTH_BCRYPT_COST '$cost' is under 10"
  mapfile -t db < <(urlparts "$(envval "$file" AUTH_DATABASE_URL)")
  expect "$label AUTH_DATABASE_URL scheme" "${db[0]}" postgres
  expect "$label AUTH_DATABASE_URL host" "${db[1]}" "$pg_svc"
  expect "$label AUTH_DATABASE_URL port" "${db[2]}" 5432
  expect "$label AUTH_DATABASE_URL user" "${db[3]}" "$pg_user"
  expect "$label AUTH_DATABASE_URL database" "${db[5]}" "/$pg_db"
  mapfile -t rd < <(urlparts "$(envval "$file" AUTH_REDIS_URL)")
  expect "$label AUTH_REDIS_URL host" "${rd[1]}" "$redis_svc"
  expect "$label AUTH_REDIS_URL port" "${rd[2]}" 6379
}
check_envfile "$envexample" authserve.env.example
if [ -f "$envfile" ]; then
  check_envfile "$envfile" authserve.env
  grep -qE '^[^#].*CHANGE-ME' "$envfile" && fail "authserve.env still has CHANGE-ME placeholders" || ok "authserve.env has no placeholders left"
  for pair in "AUTH_DATABASE_URL:postgres_password" "AUTH_REDIS_URL:redis_password"; do
    var=${pair%%:*}
    secret=$here/$(q "secrets.${pair#*:}.file" | sed 's#^\./##')
    if [ -f "$secret" ]; then
      mapfile -t parts < <(urlparts "$(envval "$envfile" "$var")")
      [ "${parts[4]}" == "$(tr -d '\n' <"$secret")" ] &&
        ok "the password in $var is ${secret#"$here"/}" || fail "the password in $var differs from ${secret#"$here"/}"
    else
      skip "${secret#"$here"/} does not exist yet"
    fi
  done
  git -C "$root" check-ignore -q "$envfile" 2>/dev/null && ok "authserve.env is ignored by git" || fail "authserve.env is not ignored by git"
else
  skip "deploy/authserve.env does not exist (normal outside a deployment)"
fi
for name in $(q secrets); do
  f=$here/$(q "secrets.$name.file" | sed 's#^\./##')
  [ -f "$f" ] || continue
  mode=$(stat -c %a "$f")
  [ $((8#$mode & 8#077)) -eq 0 ] && ok "${f#"$here"/} mode $mode (owner only)" || fail "${f#"$here"/} mode $mode: group or others can read it (chmod 0400)"
done

# ---------------------------------------------------------------------------
section "Caddyfile"
caddy=$(grep -vE '^\s*#' "$caddyfile")
upstreams=$(grep -E '^\s*reverse_proxy\s' <<<"$caddy" | sed -E 's/^\s*reverse_proxy\s+//; s/\{.*$//' | tr ' ' '\n' | grep -v '^$' | sort | paste -sd' ' -)
want=$(for s in "${replicas[@]}"; do echo "$s:$expose"; done | sort | paste -sd' ' -)
expect "reverse_proxy upstreams are the replicas" "$upstreams" "$want"
grep -qE '^\s*header_up\s+X-Forwarded-For\s+\{remote_host\}' <<<"$caddy" && ok "X-Forwarded-For is set to the connecting address" ||
  fail "the proxy does not set X-Forwarded-For to {remote_host}"
grep -qE 'Strict-Transport-Security\s+"max-age=[1-9][0-9]*' <<<"$caddy" && ok "HSTS header" || fail "no Strict-Transport-Security header"
health=$(grep -oE '^\s*health_uri\s+\S+' <<<"$caddy" | awk '{ print $2 }')
expect "proxy health check path" "$health" /healthz
grep -qE '^\s*@metrics\s+path\s+/metrics' <<<"$caddy" && grep -qE '^\s*respond\s+@metrics\s+404' <<<"$caddy" &&
  ok "/metrics is not served to the internet" || fail "the proxy serves /metrics publicly"

# ---------------------------------------------------------------------------
section "docs/deployment.md and alerts"
for s in /healthz /readyz /metrics /data 8080 "authserve healthcheck" "authserve migrate up" "authserve keys generate" \
  "$(svcenv "${replicas[0]}" AUTH_TRUSTED_PROXIES)"; do
  grep -qF -- "$s" "$guide" && ok "the guide mentions $s" || fail "the guide never mentions $s"
done
i=0
while expr=$(yq "$alerts" get "groups.0.rules.$i.expr"); do
  name=$(yq "$alerts" get "groups.0.rules.$i.alert")
  grep -qF -- "$expr" "$guide" && ok "alert $name: its expr is in the guide" || fail "alert $name: expr not in the guide verbatim: $expr"
  i=$((i + 1))
done
[ "$i" -gt 0 ] || fail "no alerting rules in ${alerts#"$root"/}"
mapfile -t metrics < <(grep -ohE '\bauthserve_[a-z_]+' "$guide" "$alerts" "$caddyfile" | sed -E 's/_(bucket|sum|count)$//' | sort -u)
if compgen -G "$root/internal/metrics/*.go" >/dev/null; then
  unknown=()
  for m in "${metrics[@]}"; do
    grep -qF "\"$m\"" "$root"/internal/metrics/*.go || unknown+=("$m")
  done
  [ ${#unknown[@]} -eq 0 ] && ok "all ${#metrics[@]} metric names used are defined in internal/metrics" ||
    fail "metrics not defined in internal/metrics: ${unknown[*]}"
else
  skip "internal/metrics does not exist yet: ${#metrics[@]} metric names unchecked"
fi
mapfile -t links < <(grep -oE '\]\((\.\./)[^)#]+' "$guide" | sed 's/^](//')
bad=()
for l in "${links[@]}"; do [ -e "$root/docs/$l" ] || bad+=("$l"); done
[ ${#bad[@]} -eq 0 ] && ok "the guide's ${#links[@]} links to repository files resolve" || fail "broken links in the guide: ${bad[*]}"
# shellcheck disable=SC2016 # python, not shell
anchors=$(python3 -c 'import re, sys
text = re.sub(r"^```.*?^```", "", open(sys.argv[1]).read(), flags=re.M | re.S)
slugs = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in re.findall(r"^#+ (.*)$", text, re.M)}
links = set(re.findall(r"\]\(#([^)]+)\)", text))
print(len(links), " ".join(sorted(links - slugs)))' "$guide")
[ -z "${anchors#* }" ] && ok "the guide's ${anchors%% *} links to its own sections resolve" || fail "links to no section of the guide: ${anchors#* }"

# ---------------------------------------------------------------------------
section "scripts"
for f in "$here/check.sh" "$here/local-replicas.sh"; do
  check "bash -n ${f#"$root"/}" bash -n "$f"
done
if command -v shellcheck >/dev/null 2>&1; then
  check "shellcheck" shellcheck "$here/check.sh" "$here/local-replicas.sh"
else
  skip "shellcheck is not installed"
fi

printf '\n%d checks, %d failed\n' "$checks" "$failures"
[ "$failures" -eq 0 ]
