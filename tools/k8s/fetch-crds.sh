#!/usr/bin/env bash
# Fetches the CustomResourceDefinitions of third-party APIs that ddq's chart and gitops/ manifests
# create objects of, from the projects' published Go modules at the versions pinned in
# versions.env (downloaded through the Go module proxy, verified against the Go checksum
# database), and caches them by version:
#   $DDQ_CACHE/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION/crds/*.yaml  (monitoring.coreos.com)
#   $DDQ_CACHE/argo-cd-$ARGOCD_VERSION/crds/*.yaml                           (argoproj.io)
# Prints the crds directory of each requested name, one per line, in argument order.
#
# Usage: tools/k8s/fetch-crds.sh prometheus-operator|argo-cd ...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${DDQ_CACHE:-$HOME/.cache/ddq}
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

log() { printf '[tools/k8s] %s\n' "$*" >&2; }

# fetch NAME MODULE VERSION SUBDIR FILE... : copy FILEs under SUBDIR of MODULE@VERSION.
fetch() {
  local name=$1 module=$2 version=$3 subdir=$4
  shift 4
  local dir="$cache/$name-$version/crds" file missing=0
  for file in "$@"; do [ -s "$dir/$file" ] || missing=1; done
  if [ $missing -eq 1 ]; then
    log "fetching $name $version CRDs from the Go module $module"
    local zip tmp
    tmp=$(mktemp -d)
    # go mod download needs no module of its own; reading the verified zip directly (rather than
    # the extracted Dir) also works for releases whose go directive is newer than our Go.
    zip=$(cd "$tmp" && go mod download -json "$module@$version" | sed -n 's/^\t"Zip": "\(.*\)",$/\1/p')
    [ -f "$zip" ] || { log "no module zip for $module@$version"; rm -rf "$tmp"; exit 1; }
    mkdir -p "$dir"
    for file in "$@"; do
      unzip -p "$zip" "$module@$version/$subdir/$file" >"$tmp/$file"
      grep -q '^kind: CustomResourceDefinition' "$tmp/$file" || { log "$subdir/$file is not a CRD"; rm -rf "$tmp"; exit 1; }
      mv "$tmp/$file" "$dir/$file"
    done
    rm -rf "$tmp"
  fi
  echo "$dir"
}

[ $# -gt 0 ] || { log "usage: $0 prometheus-operator|argo-cd ..."; exit 2; }
for name in "$@"; do
  case $name in
    prometheus-operator)
      fetch prometheus-operator github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_VERSION" \
        example/prometheus-operator-crd monitoring.coreos.com_servicemonitors.yaml monitoring.coreos.com_prometheusrules.yaml \
        monitoring.coreos.com_podmonitors.yaml
      ;;
    argo-cd)
      fetch argo-cd github.com/argoproj/argo-cd/v3 "$ARGOCD_VERSION" manifests/crds \
        application-crd.yaml applicationset-crd.yaml appproject-crd.yaml
      ;;
    *) log "unknown CRD set $name (prometheus-operator|argo-cd)"; exit 2 ;;
  esac
done
