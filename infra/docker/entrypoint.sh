#!/bin/sh
# Starts one of the three services from the runtime's files: entrypoint.sh gateway|dispatcher|projector.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
service=${1:-${HOOKPOST_SERVICE:-}}
case "$service" in
  gateway | dispatcher | projector) ;;
  *) echo "usage: entrypoint.sh gateway|dispatcher|projector" >&2; exit 64 ;;
esac
export OTEL_SERVICE_NAME="${OTEL_SERVICE_NAME:-hookpost-$service}"
cd "$here/$service"
# The OpenTelemetry loader first, so the npm packages are instrumented as they are required.
exec node --enable-source-maps --import ./dist/register.js ./dist/index.js
