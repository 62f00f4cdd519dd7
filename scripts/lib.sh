# Shared by scripts/start.sh, stop.sh and test.sh. Everything installs itself when missing.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${HOOKPOST_STATE_DIR:-$ROOT/.hookpost}
PNPM_VERSION=$(node -p "require('$ROOT/package.json').packageManager.split('@')[1]")
TOOLS=$STATE/tools
export PATH=$TOOLS/node_modules/.bin:$PATH

say() { printf '[hookpost] %s\n' "$*" >&2; }

ensure_pnpm() {
  if [[ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]]; then
    say "installing pnpm $PNPM_VERSION into $TOOLS"
    mkdir -p "$TOOLS"
    npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error "pnpm@$PNPM_VERSION" >/dev/null
  fi
}

ensure_dependencies() {
  local marker=$ROOT/node_modules/.hookpost-lock
  if [[ ! -f $marker ]] || ! cmp -s "$ROOT/pnpm-lock.yaml" "$marker"; then
    say "installing dependencies (pnpm install --frozen-lockfile)"
    (cd "$ROOT" && pnpm install --frozen-lockfile --reporter=append-only >/dev/null)
    cp "$ROOT/pnpm-lock.yaml" "$marker"
  fi
}

# http_ok URL: true when URL answers 2xx.
http_ok() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }
