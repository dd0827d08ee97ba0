#!/usr/bin/env bash
# Installs everything ddq's tests and demo need on a fresh Debian machine, and reuses what is
# already there: Debian packages (redis-server, redis-sentinel, openssl, lua5.1), npm
# dependencies (npm ci, skipped when package-lock.json is unchanged), and the pinned Kubernetes
# tooling (tools/k8s/build.sh) and third-party CRDs (tools/k8s/fetch-crds.sh), cached under
# ~/.cache/ddq by version.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
log() { printf '[setup] %s\n' "$*" >&2; }

# --- Node.js ------------------------------------------------------------------------------
node -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  const ok = (maj === 20 && min >= 19) || (maj === 22 && min >= 13) || maj >= 24;
  if (!ok) { console.error(`Node ${process.versions.node} is too old: ddq needs 20.19+, 22.13+ or 24+`); process.exit(1); }
'

# --- Debian packages ----------------------------------------------------------------------
declare -A provides=([redis-server]=redis-server [redis-sentinel]=redis-sentinel [redis-cli]=redis-tools [openssl]=openssl [lua5.1]=lua5.1)
missing=()
for cmd in "${!provides[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${provides[$cmd]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The Debian package starts a system redis on 6379; ddq's tests start their own on free ports.
fi

# --- npm dependencies -----------------------------------------------------------------------
stamp=node_modules/.ddq-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi

# --- pinned Kubernetes tooling --------------------------------------------------------------
"$root/tools/k8s/build.sh" "$@" >/dev/null
# Third-party CRDs the chart and gitops/ tests validate against (pinned, cached by version).
"$root/tools/k8s/fetch-crds.sh" prometheus-operator argo-cd >/dev/null
log "ready"
