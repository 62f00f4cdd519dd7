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

# ensure_private_file FILE COMMAND...: FILE holds what COMMAND prints, made once and readable by its owner only.
# Written under umask 077 and renamed into place, so it is never readable by others, not even for a moment,
# and never half-written.
ensure_private_file() {
  local file=$1; shift
  if [[ ! -s $file ]]; then
    mkdir -p "$(dirname "$file")"
    (umask 077 && "$@" >"$file.new.$$" && mv "$file.new.$$" "$file")
  fi
  chmod 600 "$file"
}

# The master key that seals endpoint secrets (no key is built in): HOOKPOST_SECRET_KEYS when set, otherwise
# one made for this checkout, once, in $STATE/secret-keys (<key id>:<base64 of 32 random bytes>). Every
# process started from this checkout (npm start, npm run rebuild, npm run reseal, the bench) uses that file.
ensure_secret_keys() {
  if [[ -z ${HOOKPOST_SECRET_KEYS:-} ]]; then
    ensure_private_file "$STATE/secret-keys" node -e '
      const id = "k" + new Date().toISOString().slice(0, 10).replaceAll("-", "");
      console.log(id + ":" + require("crypto").randomBytes(32).toString("base64"));'
    HOOKPOST_SECRET_KEYS=$(cat "$STATE/secret-keys")
    export HOOKPOST_SECRET_KEYS
  fi
}
