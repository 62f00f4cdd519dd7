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

# The services run compiled (scripts/build.mjs): type-checked and bundled again whenever a source changed.
ensure_build() {
  (cd "$ROOT" && node scripts/build.mjs --if-stale --typecheck)
}

# http_ok URL: true when URL answers 2xx.
http_ok() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }

# schemathesis (the API tier) lives in its own virtualenv under .hookpost/tools, installed from
# test/api/requirements.txt (the one place its version is pinned) only when missing or when that file changed.
SCHEMATHESIS_VENV=$TOOLS/schemathesis-venv
ensure_schemathesis() {
  local requirements=$ROOT/test/api/requirements.txt marker=$SCHEMATHESIS_VENV/.hookpost-requirements
  if [[ -x $SCHEMATHESIS_VENV/bin/schemathesis && -f $marker ]] && cmp -s "$requirements" "$marker"; then return; fi
  say "installing schemathesis ($(grep -m1 '^schemathesis==' "$requirements")) into $SCHEMATHESIS_VENV"
  rm -rf "$SCHEMATHESIS_VENV"
  command -v python3 >/dev/null || { say "python3 is needed for the API tier (schemathesis)"; return 1; }
  if ! python3 -m venv "$SCHEMATHESIS_VENV" >/dev/null 2>&1; then
    # Debian's python3 ships venv apart.
    [[ $(id -u) == 0 ]] || { say "python3 -m venv failed: install python3-venv"; return 1; }
    say "installing python3-venv"
    rm -rf "$SCHEMATHESIS_VENV"
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv; } >/dev/null
    python3 -m venv "$SCHEMATHESIS_VENV"
  fi
  "$SCHEMATHESIS_VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$requirements"
  "$SCHEMATHESIS_VENV/bin/pip" check >/dev/null
  cp "$requirements" "$marker"
}

# helm (the chart's lint and render test, test/deploy/helmChart.int.spec.ts) is built from the Go module proxy
# into $TOOLS/bin, only when missing or when HELM_VERSION (the one place it is pinned) changed. Go keeps its
# module and build caches where it always does (go env GOMODCACHE GOCACHE, outside the checkout), so another
# clone on the same machine builds it from those caches instead of downloading and compiling again.
HELM_VERSION=v3.22.0
HELM=$TOOLS/bin/helm
ensure_helm() {
  [[ -x $HELM && $("$HELM" version --template '{{.Version}}' 2>/dev/null) == "$HELM_VERSION" ]] && return
  command -v go >/dev/null || { say "helm $HELM_VERSION is built with Go, which is not installed: install Go 1.24 or later"; return 1; }
  say "building helm $HELM_VERSION from the Go module proxy into $TOOLS/bin"
  local module=helm.sh/helm/v3 gomod client_go major minor
  # Stamped as helm's own release build stamps them (its Makefile): its version, and the Kubernetes version it
  # was built against (k8s.io/client-go v0.N is Kubernetes 1.N), which `helm template` and `helm lint` assume
  # when they ask no cluster. Unstamped, helm says v3.22 and assumes Kubernetes 1.20.
  gomod=$(go mod download -json "$module@$HELM_VERSION" | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).GoMod)')
  client_go=$(awk '$1 == "k8s.io/client-go" { print $2 }' "$gomod")
  [[ $client_go =~ ^v0\.([0-9]+)\. ]] || { say "no k8s.io/client-go v0.N in helm's go.mod ($gomod)"; return 1; }
  major=1 minor=${BASH_REMATCH[1]}
  mkdir -p "$TOOLS/bin"
  GOBIN=$TOOLS/bin go install -ldflags "-s -w -X $module/internal/version.version=$HELM_VERSION -X $module/internal/version.metadata= \
    -X $module/pkg/lint/rules.k8sVersionMajor=$major -X $module/pkg/lint/rules.k8sVersionMinor=$minor \
    -X $module/pkg/chartutil.k8sVersionMajor=$major -X $module/pkg/chartutil.k8sVersionMinor=$minor" \
    "$module/cmd/helm@$HELM_VERSION"
}

# Chromium for the browser tier (the dashboard's tests, test/browser): Debian's package, driven by playwright-core;
# nothing downloads a browser of its own. Installed only when missing (as root; otherwise say what to install).
CHROMIUM=${HOOKPOST_CHROMIUM:-/usr/bin/chromium}
ensure_chromium() {
  [[ -x $CHROMIUM ]] && return
  [[ $(id -u) == 0 ]] || { say "the browser tests need Chromium: apt-get install chromium"; return 1; }
  say "installing chromium (Debian's package) for the browser tests"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core; } >/dev/null
  [[ -x $CHROMIUM ]]
}

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

# The connection URLs (with this checkout's passwords) that infra/local.sh wrote, for whatever this script
# starts; a variable already set (your own DATABASE_URL, say) is kept.
load_credentials() {
  local file=$STATE/credentials.env name value
  [[ -f $file ]] || return 0
  while IFS='=' read -r name value; do
    [[ -n $name && -z ${!name:-} ]] && export "$name=$value"
  done <"$file"
  return 0
}
