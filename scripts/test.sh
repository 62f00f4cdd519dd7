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

# Two runs: the unit, integration and end-to-end tiers in parallel, then the fault tier alone (it stops and
# starts shared brokers, so nothing may run beside it).
status=0
rm -f "$STATE"/jest-*.json "$STATE"/jest-results.json
run_jest() {
  local name=$1; shift
  pnpm exec jest --ci --json --outputFile="$STATE/jest-$name.json" "$@" || status=$?
}
if [[ -n ${HOOKPOST_TEST_TIERS:-} ]]; then
  # A chosen set of tiers (npm run test:faults passes --runInBand).
  if [[ " $* " == *" --runInBand "* ]]; then run_jest selected "$@"; else run_jest selected --maxWorkers=2 "$@"; fi
else
  HOOKPOST_TEST_TIERS=unit,int,e2e run_jest main --maxWorkers=2 "$@"
  HOOKPOST_TEST_TIERS=fault run_jest faults --runInBand "$@"
fi
node -e '
  let passed = 0, failed = 0, skipped = 0;
  for (const file of process.argv.slice(1)) {
    try {
      const r = require(file);
      passed += r.numPassedTests; failed += r.numFailedTests + (r.numRuntimeErrorTestSuites || 0); skipped += r.numPendingTests;
    } catch { failed += 1; }
  }
  console.log(`jest: ${passed} passed, ${failed} failed, ${skipped} skipped`);
' "$STATE"/jest-*.json
exit "$status"
