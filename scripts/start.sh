#!/usr/bin/env bash
# npm start: install what is missing, start the infrastructure and the three services (in the background,
# logs in .hookpost/logs). Running it again reuses whatever already runs. `npm stop` stops it all.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# HOOKPOST_JAEGER=1 runs Jaeger v2 beside the services, built first when missing (README, "Observing it").
case ${HOOKPOST_JAEGER:-0} in
  1 | true) with_jaeger=1 ;;
  0 | false | '') with_jaeger= ;;
  *) say "HOOKPOST_JAEGER is 1 or 0, not '$HOOKPOST_JAEGER'"; exit 1 ;;
esac

ensure_pnpm
ensure_dependencies
ensure_build
[[ -z $with_jaeger ]] || ensure_jaeger || { say "HOOKPOST_JAEGER=1 needs Jaeger: see README, \"Observing it\""; exit 1; }
bash "$ROOT/infra/local.sh" up
load_credentials

mkdir -p "$STATE/logs" "$STATE/run"

# Deliveries go to public addresses only, here as in production: allowing a local receiver is an explicit
# choice, e.g. HOOKPOST_ALLOWED_TARGET_CIDRS=127.0.0.1/32:9999 npm start (README, "Try it"). A blanket
# loopback default would let any API key POST to every local port and read the answer in the attempt log.
if [[ -n ${HOOKPOST_ALLOWED_TARGET_CIDRS:-} ]]; then
  say "non-public delivery targets allowed: $HOOKPOST_ALLOWED_TARGET_CIDRS"
fi

# Every API call needs a key. Without HOOKPOST_API_KEYS, npm start makes one for this checkout, once.
if [[ -z ${HOOKPOST_API_KEYS:-} && ${HOOKPOST_ALLOW_NO_AUTH:-false} != true ]]; then
  keyfile=$STATE/api-key
  [[ -s $keyfile ]] || new_key=1
  ensure_private_file "$keyfile" node -e 'console.log("hp_" + require("crypto").randomBytes(24).toString("base64url"))'
  HOOKPOST_API_KEYS=$(cat "$keyfile")
  export HOOKPOST_API_KEYS
fi

# The master key that seals endpoint secrets: HOOKPOST_SECRET_KEYS, or the checkout's .hookpost/secret-keys.
ensure_secret_keys

if [[ -n $with_jaeger ]]; then
  start_jaeger || exit 1
  # The services export to it (what is set by hand wins).
  export OTEL_EXPORTER_OTLP_ENDPOINT=${OTEL_EXPORTER_OTLP_ENDPOINT:-http://127.0.0.1:${HOOKPOST_JAEGER_OTLP_HTTP_PORT:-4318}}
  export_unset_from "$ROOT/infra/jaeger/exporter.env"
  # The dashboard's delivery page asks Jaeger's query API for the delivery's trace (docs/dashboard.md, "Trace").
  export HOOKPOST_JAEGER_URL=${HOOKPOST_JAEGER_URL:-http://127.0.0.1:${HOOKPOST_JAEGER_QUERY_PORT:-16686}}
fi

start_service() {
  local name=$1 port=$2 pidfile=$STATE/run/$1.pid
  if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null && http_ok "http://127.0.0.1:$port/healthz"; then
    say "$name: already running (pid $(cat "$pidfile"))"
    reused+=("$name")
    return
  fi
  if http_ok "http://127.0.0.1:$port/healthz"; then
    say "$name: something else answers on :$port; not starting another"
    return
  fi
  say "$name: starting on :$port"
  # The new session's shell writes its own pid, then becomes node: the pid file names the service itself.
  # HOOKPOST_SERVICE_NODE_FLAGS: extra node flags for profiling (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof),
  # which NODE_OPTIONS refuses.
  (cd "$ROOT" && exec setsid bash -c 'echo $$ >"$0"; exec node --enable-source-maps $2 --import "./services/$1/dist/register.js" "./services/$1/dist/index.js"' \
    "$pidfile" "$name" "${HOOKPOST_SERVICE_NODE_FLAGS:-}") >>"$STATE/logs/$name.log" 2>&1 </dev/null &
  local deadline=$((SECONDS + 90))
  until [[ -s $pidfile ]]; do sleep 0.1; done
  until http_ok "http://127.0.0.1:$port/readyz"; do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null || ((SECONDS > deadline)); then
      say "$name failed to start; end of $STATE/logs/$name.log:"
      tail -n 40 "$STATE/logs/$name.log" >&2
      exit 1
    fi
    sleep 0.5
  done
}

reused=()
# The projector first: it applies the migrations and serves the reads the gateway forwards.
start_service projector "${PROJECTOR_PORT:-8001}"
start_service dispatcher "${DISPATCHER_PORT:-8002}"
# (the dashboard's overview shows the dispatcher's health)
export HOOKPOST_DISPATCHER_URL=${HOOKPOST_DISPATCHER_URL:-http://127.0.0.1:${DISPATCHER_PORT:-8002}}
start_service gateway "${GATEWAY_PORT:-8000}"
say "ready: API on http://localhost:${GATEWAY_PORT:-8000}, dashboard on http://localhost:${GATEWAY_PORT:-8000}/ui (logs in $STATE/logs; npm stop to stop)"
if [[ -n $with_jaeger ]]; then
  say "traces: Jaeger's query API on http://127.0.0.1:${HOOKPOST_JAEGER_QUERY_PORT:-16686}/api/traces?service=hookpost-dispatcher&tags={\"hookpost.delivery_id\":\"<id>\"}"
  # A service started earlier keeps the environment it was started with: it exports elsewhere, or nowhere.
  ((${#reused[@]} == 0)) || say "already running before, so not exporting to this Jaeger unless they were started with it: ${reused[*]} (npm stop, then HOOKPOST_JAEGER=1 npm start)"
fi
# The key is shown once, when it is made; after that only where it is (logs and terminals are not for secrets).
if [[ -n ${new_key:-} ]]; then
  say "API key, made now and kept in $keyfile (shown this once): send -H \"Authorization: Bearer ${HOOKPOST_API_KEYS%%,*}\""
elif [[ -n ${keyfile:-} ]]; then
  say "API key: in $keyfile (send -H \"Authorization: Bearer \$(cat $keyfile)\")"
fi
