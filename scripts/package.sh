#!/usr/bin/env bash
# The runtime's files, exactly as the image holds them (infra/docker/service.Dockerfile runs this):
#   bash scripts/package.sh OUT     after the build (node scripts/build.mjs)
# OUT/<service>/ holds each service's bundle (dist/; the projector's migrations/ too) and package.json; OUT/
# node_modules/ the production dependencies of all three, one copy each (pnpm deploy --prod per service, then
# merged: the same package version is the same folder in each); OUT/entrypoint.sh starts the service named by
# its argument, OUT/healthcheck.mjs checks it. Start one with plain node: OUT/entrypoint.sh gateway.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:?usage: scripts/package.sh OUT}
SERVICES=(gateway dispatcher projector)
# (pnpm as npm start installs it, when it is not on the PATH)
PATH=$PATH:$ROOT/.hookpost/tools/node_modules/.bin

for service in "${SERVICES[@]}"; do
  [[ -f $ROOT/services/$service/dist/index.js ]] || { echo "services/$service/dist is missing: run node scripts/build.mjs first" >&2; exit 1; }
done
rm -rf "$OUT"
mkdir -p "$OUT/node_modules/.pnpm"
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
for service in "${SERVICES[@]}"; do
  (cd "$ROOT" && pnpm --filter "@hookpost/$service" deploy --prod --legacy "$staging/$service" >/dev/null)
  # The package's own files (package.json, dist, migrations) under OUT/<service>; its dependencies merged.
  mkdir -p "$OUT/$service"
  find "$staging/$service" -mindepth 1 -maxdepth 1 ! -name node_modules -exec cp -a {} "$OUT/$service/" \;
  modules=$staging/$service/node_modules
  cp -a -n "$modules/.pnpm/." "$OUT/node_modules/.pnpm/"
  # Top-level links (relative, into .pnpm), scoped ones included.
  (cd "$modules" && find . -mindepth 1 -maxdepth 2 -type l ! -path './.pnpm/*' ! -path './.bin/*' -print0) |
    while IFS= read -r -d '' link; do
      mkdir -p "$OUT/node_modules/$(dirname "$link")"
      [[ -e $OUT/node_modules/$link || -L $OUT/node_modules/$link ]] || cp -a "$modules/$link" "$OUT/node_modules/$link"
    done
done
cp "$ROOT/infra/docker/entrypoint.sh" "$ROOT/infra/docker/healthcheck.mjs" "$OUT/"
chmod 0755 "$OUT/entrypoint.sh"
echo "[package] $OUT: ${SERVICES[*]}; $(du -sh "$OUT" | cut -f1) in all"
