#!/usr/bin/env bash
# npm run test:api (and a step of npm test): schemathesis, pinned in test/api/requirements.txt, against an
# isolated stack's /openapi.json with every check and its stateful phase. Output in .hookpost/schemathesis/.
# Extra arguments go to `schemathesis run` (e.g. --seed 1, or --max-examples 5 for a quick look).
# HOOKPOST_API_NODE_FLAGS passes flags to the runner's node, which runs the three services in-process (e.g.
# HOOKPOST_API_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile them under the fuzzer's load).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ ${HOOKPOST_API_TIER_STANDALONE:-true} == true ]]; then
  ensure_pnpm
  ensure_dependencies
  bash "$ROOT/infra/local.sh" up
fi
load_credentials
ensure_schemathesis

cd "$ROOT"
say "API tier: schemathesis against an isolated stack"
node "$ROOT/scripts/build.mjs" --if-stale
node ${HOOKPOST_API_NODE_FLAGS:-} --enable-source-maps --import tsx test/api/runSchemathesis.ts "$SCHEMATHESIS_VENV/bin/schemathesis" "$@"
