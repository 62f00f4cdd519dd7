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

# Jaeger v2 (HOOKPOST_JAEGER=1 npm start, and the jaeger test tier) is built from the Go module proxy into
# $TOOLS/bin/jaeger, from infra/jaeger/go.mod and go.sum (the one place its version and every dependency's are
# pinned), only when missing or when those files changed. Go's own caches (GOMODCACHE, GOCACHE) stay where Go
# keeps them, so a rebuild on the same machine compiles only what changed.
JAEGER_BIN=$TOOLS/bin/jaeger
ensure_jaeger() {
  local module=$ROOT/infra/jaeger marker=$TOOLS/bin/.jaeger-build
  if [[ -x $JAEGER_BIN && -f $marker ]] && cat "$module/go.mod" "$module/go.sum" | cmp -s - "$marker"; then return; fi
  if ! command -v go >/dev/null; then
    if [[ -x $JAEGER_BIN ]]; then say "Go is missing: using $JAEGER_BIN as it is (not checked against infra/jaeger/go.mod)"; return; fi
    say "Jaeger is built from source with Go (1.24.6 or newer, https://go.dev/dl), which is not installed"
    return 1
  fi
  local version v2 dir started=$SECONDS
  (cd "$module" && go mod download github.com/jaegertracing/jaeger) || { say "could not fetch Jaeger from the Go module proxy"; return 1; }
  read -r version dir < <(cd "$module" && go list -m -f '{{.Version}} {{.Dir}}' github.com/jaegertracing/jaeger)
  say "building Jaeger $version (cmd/jaeger, Jaeger v2) with $(go env GOVERSION) into $JAEGER_BIN; minutes the first time"
  mkdir -p "$TOOLS/bin" "$STATE/logs"
  # The v2 release that shares the module's tag, as `jaeger version` reports it (their Makefile sets it so too).
  v2=$(sed -n "s#^$version / \(v2\.[0-9.]*\) .*#\1#p" "$dir/CHANGELOG.md" | head -n 1)
  # Static and path-free, as Jaeger's own release build; written beside the binary, then renamed over it.
  if ! (cd "$module" && CGO_ENABLED=0 go build -trimpath -o "$JAEGER_BIN.new" \
      -ldflags "-X github.com/jaegertracing/jaeger/internal/version.latestVersion=${v2:-$version}" \
      github.com/jaegertracing/jaeger/cmd/jaeger) >"$STATE/logs/jaeger-build.log" 2>&1; then
    tail -n 30 "$STATE/logs/jaeger-build.log" >&2
    say "building Jaeger failed (whole log: $STATE/logs/jaeger-build.log)"
    rm -f "$JAEGER_BIN.new"
    return 1
  fi
  mv "$JAEGER_BIN.new" "$JAEGER_BIN"
  cat "$module/go.mod" "$module/go.sum" >"$marker"
  say "built Jaeger ${v2:-$version} in $((SECONDS - started)) s"
}

# start_jaeger: the built Jaeger with infra/jaeger/config.yaml (in-memory store, every listener on 127.0.0.1; ports
# from HOOKPOST_JAEGER_*), in its own session like the services, pid in $STATE/run/jaeger.pid (npm stop stops it),
# log in $STATE/logs/jaeger.log. Reuses one already running.
jaeger_ready() {
  # Extensions start before receivers: the query API answering does not mean OTLP is taken yet.
  http_ok "http://127.0.0.1:${HOOKPOST_JAEGER_QUERY_PORT:-16686}/api/services" \
    && (exec 3<>"/dev/tcp/127.0.0.1/${HOOKPOST_JAEGER_OTLP_HTTP_PORT:-4318}") 2>/dev/null
}
start_jaeger() {
  local pidfile=$STATE/run/jaeger.pid query_port=${HOOKPOST_JAEGER_QUERY_PORT:-16686}
  if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null && jaeger_ready; then
    say "jaeger: already running (pid $(cat "$pidfile"))"
    return
  fi
  if http_ok "http://127.0.0.1:$query_port/api/services"; then
    say "jaeger: something else answers on :$query_port; using it"
    return
  fi
  say "jaeger: starting (OTLP on :${HOOKPOST_JAEGER_OTLP_GRPC_PORT:-4317} and :${HOOKPOST_JAEGER_OTLP_HTTP_PORT:-4318}, query API on :$query_port)"
  mkdir -p "$STATE/run" "$STATE/logs"
  rm -f "$pidfile"
  # The new session's shell writes its own pid, then becomes Jaeger: the pid file names Jaeger itself.
  (cd "$ROOT" && exec setsid bash -c 'echo $$ >"$0"; exec "$1" --config "$2"' "$pidfile" "$JAEGER_BIN" "$ROOT/infra/jaeger/config.yaml") \
    >>"$STATE/logs/jaeger.log" 2>&1 </dev/null &
  local deadline=$((SECONDS + 30))
  until [[ -s $pidfile ]]; do sleep 0.1; done
  until jaeger_ready; do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null || ((SECONDS > deadline)); then
      say "jaeger failed to start; end of $STATE/logs/jaeger.log:"
      tail -n 40 "$STATE/logs/jaeger.log" >&2
      return 1
    fi
    sleep 0.2
  done
}

# docker-compose (Debian's, 1.29) for the compose file's test (test/deploy/composeFile.int.spec.ts): with no Docker
# engine here, `docker-compose config` is what can check the file. Installed only when missing (as root).
ensure_compose() {
  command -v docker-compose >/dev/null && return
  [[ $(id -u) == 0 ]] || { say "the compose file's test needs docker-compose: apt-get install docker-compose"; return 1; }
  say "installing docker-compose (Debian's package) to check docker-compose.yml"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose; } >/dev/null
  command -v docker-compose >/dev/null
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
load_credentials() { export_unset_from "$STATE/credentials.env"; }

# export_unset_from FILE: exports each NAME=value line of FILE (# starts a comment line) whose NAME is not set yet.
export_unset_from() {
  local file=$1 name value
  [[ -f $file ]] || return 0
  while IFS='=' read -r name value; do
    [[ -n $name && $name != \#* && -z ${!name:-} ]] && export "$name=$value"
  done <"$file"
  return 0
}
