#!/usr/bin/env bash
# npm run rebuild: stop the projector, empty the read model, replay the whole log into it, start it again.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pidfile=$STATE/run/projector.pid
was_running=0
if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  was_running=1
  say "projector: stopping for the rebuild"
  kill -TERM "$(cat "$pidfile")"
  while kill -0 "$(cat "$pidfile")" 2>/dev/null; do sleep 0.2; done
  rm -f "$pidfile"
fi
ensure_secret_keys
load_credentials
(cd "$ROOT" && node scripts/build.mjs --if-stale && node --enable-source-maps services/projector/dist/rebuild.js)
if ((was_running)); then bash "$ROOT/scripts/start.sh"; fi
