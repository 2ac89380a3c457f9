#!/usr/bin/env bash
# lint.sh FILE... lints OpenAPI documents with the Redocly CLI pinned in
# package-lock.json and its recommended rules (redocly.yaml). It fails on
# any error and on any warning, which redocly itself lets pass.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v npm >/dev/null 2>&1; then
  echo "Redocly CLI needs Node.js (>= 20.19) and npm" >&2
  exit 1
fi
if [ ! -x "$here/node_modules/.bin/redocly" ]; then
  npm ci --prefix "$here" --no-audit --no-fund >&2
fi
# No telemetry, no update check: CI is offline but for the registries.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1
redocly="$here/node_modules/.bin/redocly"
status=0
for f in "$@"; do
  totals=$("$redocly" lint --config "$here/redocly.yaml" --format=json "$f" 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const t=JSON.parse(s).totals;console.log(t.errors+" "+t.warnings)})') || totals="? ?"
  read -r errors warnings <<<"$totals"
  if [ "$errors" = 0 ] && [ "$warnings" = 0 ]; then
    echo "redocly lint $f: no errors, no warnings"
  else
    echo "redocly lint $f: $errors errors, $warnings warnings" >&2
    "$redocly" lint --config "$here/redocly.yaml" "$f" >&2 || true
    status=1
  fi
done
exit $status
