#!/usr/bin/env bash
# npm test: the same infrastructure as npm start, then the type check and every test tier.
# Each test run isolates itself (its own topic prefix, database schema, queue names and Redis prefix) and
# cleans up after itself, so it can run again and again on one machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_pnpm
ensure_dependencies
bash "$ROOT/infra/local.sh" up
load_credentials

# helm, for the chart's test in the integration tier: built once from the Go module proxy (minutes the first time
# on a machine, seconds from Go's caches after), here so that the build is a step of its own in the log. The test
# itself ensures it too, for a jest started by hand.
if [[ ",${HOOKPOST_TEST_TIERS:-int}," == *,int,* ]]; then
  ensure_helm || say "helm could not be built: the chart's test (test/deploy) will fail"
  ensure_compose || say "docker-compose could not be installed: the compose file's test (test/deploy) will fail"
fi
# Chromium, for the browser tier (the dashboard in a real browser).
if [[ ",${HOOKPOST_TEST_TIERS:-browser}," == *,browser,* ]]; then
  ensure_chromium || say "Chromium could not be installed: the browser tests (test/browser) will fail"
fi

cd "$ROOT"
say "type check and build"
node scripts/build.mjs --typecheck

# Five runs: the unit, integration and end-to-end tiers in parallel; the browser tier (the dashboard in
# Chromium: one browser and one stack at a time); the API tier (schemathesis against the published OpenAPI
# document, scripts/test-api.sh); the jaeger tier (a webhook's trace in a real Jaeger); then the fault tier alone
# (it stops and starts shared brokers, so nothing may run beside it).
status=0
rm -f "$STATE"/jest-*.json "$STATE"/jest-results.json "$STATE"/api-tier.json
run_jest() {
  local name=$1; shift
  pnpm exec jest --ci --json --outputFile="$STATE/jest-$name.json" "$@" || status=$?
}
if [[ -n ${HOOKPOST_TEST_TIERS:-} ]]; then
  # A chosen set of tiers (npm run test:faults passes --runInBand).
  if [[ " $* " == *" --runInBand "* ]]; then run_jest selected "$@"; else run_jest selected --maxWorkers=2 "$@"; fi
else
  HOOKPOST_TEST_TIERS=unit,int,e2e run_jest main --maxWorkers=2 "$@"
  HOOKPOST_TEST_TIERS=browser run_jest browser --runInBand "$@"
  api=0
  HOOKPOST_API_TIER_STANDALONE=false bash "$ROOT/scripts/test-api.sh" || api=$?
  echo "{\"passed\": $((api == 0)), \"failed\": $((api != 0))}" >"$STATE/api-tier.json"
  ((api == 0)) || status=$api
  # Traces in a real Jaeger, built with Go (test/globalSetup.ts builds it when missing): the test starts its own on
  # free loopback ports, beside any npm start runs.
  if command -v go >/dev/null || [[ -x $JAEGER_BIN ]]; then
    HOOKPOST_TEST_TIERS=jaeger run_jest jaeger "$@"
  else
    say "jaeger tier skipped: it builds Jaeger with Go, which is not installed (README, \"Observing it\")"
  fi
  HOOKPOST_TEST_TIERS=fault run_jest faults --runInBand "$@"
fi
# One closing line over every tier; the API tier counts as one test.
results=("$STATE"/jest-*.json)
[[ -f $STATE/api-tier.json ]] && results+=("$STATE/api-tier.json")
node -e '
  let passed = 0, failed = 0, skipped = 0;
  for (const file of process.argv.slice(1)) {
    try {
      const r = require(file);
      if (file.endsWith("api-tier.json")) { passed += r.passed; failed += r.failed; continue; }
      passed += r.numPassedTests; failed += r.numFailedTests + (r.numRuntimeErrorTestSuites || 0); skipped += r.numPendingTests;
    } catch { failed += 1; }
  }
  console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
' "${results[@]}"
exit "$status"
