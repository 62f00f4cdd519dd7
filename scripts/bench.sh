#!/usr/bin/env bash
# npm run bench: start the stack if needed (npm start), then measure it (bench/run.ts). Reports, never asserts.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bash "$ROOT/scripts/start.sh"
cd "$ROOT" && node --import tsx bench/run.ts
