#!/usr/bin/env bash
# npm stop: stop the three services, then Jaeger if npm start started it (after the services, which send it their
# last spans as they stop), then the infrastructure that infra/local.sh started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for name in gateway dispatcher projector jaeger; do
  pidfile=$STATE/run/$name.pid
  [[ -f $pidfile ]] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    say "$name: stopping (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
done
bash "$ROOT/infra/local.sh" down
