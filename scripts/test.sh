#!/usr/bin/env bash
# npm test: the same infrastructure as npm start, then the type check and every test tier.
# Each test run isolates itself (its own topic prefix, database schema, queue names and Redis prefix) and
# cleans up after itself, so it can run again and again on one machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_pnpm
ensure_dependencies
bash "$ROOT/infra/local.sh" up

cd "$ROOT"
say "type check"
pnpm exec tsc -p tsconfig.json

results=$STATE/jest-results.json
rm -f "$results"
status=0
pnpm exec jest --ci --maxWorkers=2 --json --outputFile="$results" "$@" || status=$?
if [[ -f $results ]]; then
  node -e '
    const r = require(process.argv[1]);
    console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);
  ' "$results"
fi
exit "$status"
