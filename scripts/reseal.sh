#!/usr/bin/env bash
# npm run reseal: seal every live subscription's secret again under the first key of HOOKPOST_SECRET_KEYS
# (with npm start: the first entry of .hookpost/secret-keys), so an older key can be removed from the list.
# The stack keeps running; see docs/master-keys.md for the whole procedure.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_secret_keys
load_credentials
# The projector lists the subscriptions; it takes the same API key as every other call.
if [[ -z ${HOOKPOST_API_KEYS:-} && -s $STATE/api-key ]]; then
  HOOKPOST_API_KEYS=$(cat "$STATE/api-key")
  export HOOKPOST_API_KEYS
fi
cd "$ROOT" && node scripts/build.mjs --if-stale && node --enable-source-maps services/gateway/dist/reseal.js
