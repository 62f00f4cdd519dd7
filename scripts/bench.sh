#!/usr/bin/env bash
# npm run bench: start the stack if needed (npm start), then measure it (bench/run.ts). Reports, never asserts.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# The bench's receivers listen on 127.0.0.1, which npm start no longer allows by itself. (A stack already
# running without this setting refuses those deliveries: npm stop first.)
export HOOKPOST_ALLOWED_TARGET_CIDRS=${HOOKPOST_ALLOWED_TARGET_CIDRS-127.0.0.1/32}
bash "$ROOT/scripts/start.sh"
load_credentials
cd "$ROOT" && node scripts/build.mjs --if-stale && node --import tsx bench/run.ts
