#!/usr/bin/env bash
# Produces the pinned Kubernetes tooling ddq's tests and demo run against, cached by version:
#   $DDQ_CACHE/k8s-$K8S_VERSION/bin/{kube-apiserver,kubectl}
#   $DDQ_CACHE/etcd-$ETCD_VERSION/bin/etcd
#   $DDQ_CACHE/helm-$HELM_VERSION/bin/helm
#   $DDQ_CACHE/buf-$BUF_VERSION/bin/buf       (protobuf lint, breaking-change check, generation)
#   $DDQ_CACHE/actionlint-$ACTIONLINT_VERSION/bin/actionlint
#   $DDQ_CACHE/grpcurl-$GRPCURL_VERSION/bin/grpcurl           (a third-party gRPC client, by reflection)
#   $DDQ_CACHE/toxiproxy-$TOXIPROXY_VERSION/bin/toxiproxy     (a TCP fault injector, toxiproxy-server)
# (DDQ_CACHE defaults to ~/.cache/ddq). A binary already on PATH or in $KUBEBUILDER_ASSETS whose
# version matches the pin is linked instead of built. Prints the cache directory's env file path:
# source it to get DDQ_KUBE_APISERVER, DDQ_KUBECTL, DDQ_ETCD, DDQ_HELM, DDQ_BUF, DDQ_ACTIONLINT,
# DDQ_GRPCURL and DDQ_TOXIPROXY.
#
# Usage: tools/k8s/build.sh [kube|etcd|helm|buf|actionlint|grpcurl|toxiproxy ...]   (default: all)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${DDQ_CACHE:-$HOME/.cache/ddq}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false -trimpath"

log() { printf '[tools/k8s] %s\n' "$*" >&2; }

# reuse NAME WANT DEST VERSION_CMD... : link a matching binary from KUBEBUILDER_ASSETS or PATH.
reuse() {
  local name=$1 want=$2 dest=$3
  shift 3
  local candidate
  for candidate in "${KUBEBUILDER_ASSETS:+$KUBEBUILDER_ASSETS/$name}" "$(command -v "$name" 2>/dev/null || true)"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    [ "$(realpath "$candidate")" = "$(realpath -m "$dest")" ] && continue
    if "$candidate" "$@" 2>/dev/null | grep -F -- "$want" >/dev/null; then
      log "reusing $candidate ($want)"
      mkdir -p "$(dirname "$dest")"
      ln -sf "$candidate" "$dest"
      return 0
    fi
  done
  return 1
}

# have DEST WANT VERSION_CMD... : the cached binary exists and reports the pinned version. (grep
# without -q reads all the output: with -q it may exit first and, under pipefail, the binary's
# SIGPIPE fails the check at random; a busy machine once failed a fresh etcd build that way.)
have() {
  local dest=$1 want=$2
  shift 2
  [ -x "$dest" ] && "$dest" "$@" 2>/dev/null | grep -F -- "$want" >/dev/null
}

build_kube() {
  local dir="$cache/k8s-$K8S_VERSION" minor=${K8S_VERSION#v1.}
  minor=${minor%%.*}
  if have "$dir/bin/kube-apiserver" "$K8S_VERSION" --version && have "$dir/bin/kubectl" "$K8S_VERSION" version --client; then
    return
  fi
  if reuse kube-apiserver "$K8S_VERSION" "$dir/bin/kube-apiserver" --version &&
    reuse kubectl "$K8S_VERSION" "$dir/bin/kubectl" version --client; then
    return
  fi
  local commit
  commit=$(cd "$here/kube" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"Hash": "\([0-9a-f]*\)".*/\1/p' | head -1)
  local ld="-s -w"
  local pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitCommit=${commit:-unknown} -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  log "building kube-apiserver and kubectl $K8S_VERSION (several minutes on a cold cache)"
  mkdir -p "$dir/bin"
  (cd "$here/kube" && go build -ldflags "$ld" -o "$dir/bin/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
  have "$dir/bin/kube-apiserver" "$K8S_VERSION" --version || { log "built kube-apiserver does not report $K8S_VERSION"; exit 1; }
}

build_etcd() {
  local dir="$cache/etcd-$ETCD_VERSION" want="etcd Version: ${ETCD_VERSION#v}"
  have "$dir/bin/etcd" "$want" --version && return
  reuse etcd "$want" "$dir/bin/etcd" --version && return
  log "building etcd $ETCD_VERSION"
  mkdir -p "$dir/bin"
  (cd "$here/etcd" && go build -ldflags "-s -w" -o "$dir/bin/etcd" .)
  have "$dir/bin/etcd" "$want" --version || { log "built etcd does not report $want"; exit 1; }
}

build_helm() {
  local dir="$cache/helm-$HELM_VERSION" kminor
  have "$dir/bin/helm" "$HELM_VERSION" version --short && return
  reuse helm "$HELM_VERSION" "$dir/bin/helm" version --short && return
  kminor=$(cd "$here/helm" && go list -m -f '{{.Version}}' k8s.io/client-go)
  kminor=${kminor#v0.}
  kminor=${kminor%%.*}
  log "building helm $HELM_VERSION"
  mkdir -p "$dir/bin"
  (cd "$here/helm" && go build -o "$dir/bin/helm" -ldflags "-s -w \
    -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION \
    -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$kminor \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$kminor" \
    helm.sh/helm/v3/cmd/helm)
  have "$dir/bin/helm" "$HELM_VERSION" version --short || { log "built helm does not report $HELM_VERSION"; exit 1; }
}

build_buf() {
  local dir="$cache/buf-$BUF_VERSION"
  have "$dir/bin/buf" "${BUF_VERSION#v}" --version && return
  reuse buf "${BUF_VERSION#v}" "$dir/bin/buf" --version && return
  log "building buf $BUF_VERSION"
  mkdir -p "$dir/bin"
  # `go install module@version` builds with the module's own go.sum, verified by the checksum DB.
  GOFLAGS="-buildvcs=false -trimpath" GOBIN="$dir/bin" go install -ldflags "-s -w" "github.com/bufbuild/buf/cmd/buf@$BUF_VERSION"
  have "$dir/bin/buf" "${BUF_VERSION#v}" --version || { log "built buf does not report $BUF_VERSION"; exit 1; }
}

build_actionlint() {
  local dir="$cache/actionlint-$ACTIONLINT_VERSION"
  have "$dir/bin/actionlint" "${ACTIONLINT_VERSION#v}" -version && return
  reuse actionlint "${ACTIONLINT_VERSION#v}" "$dir/bin/actionlint" -version && return
  log "building actionlint $ACTIONLINT_VERSION"
  mkdir -p "$dir/bin"
  (cd "$here/actionlint" && go build -o "$dir/bin/actionlint" \
    -ldflags "-s -w -X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" \
    github.com/rhysd/actionlint/cmd/actionlint)
  have "$dir/bin/actionlint" "${ACTIONLINT_VERSION#v}" -version || { log "built actionlint does not report $ACTIONLINT_VERSION"; exit 1; }
}

# go_install DIR BINARY MODULE/CMD VERSION: `go install module@version` into DIR/bin, renamed to BINARY.
go_install() {
  local dir=$1 binary=$2 package=$3 version=$4
  mkdir -p "$dir/bin"
  GOFLAGS="-buildvcs=false -trimpath" GOBIN="$dir/bin" go install -ldflags "-s -w" "$package@$version"
  local built="$dir/bin/${package##*/}"
  [ "$built" = "$dir/bin/$binary" ] || mv "$built" "$dir/bin/$binary"
}

build_grpcurl() {
  local dir="$cache/grpcurl-$GRPCURL_VERSION"
  # grpcurl built by `go install` reports "dev build" (its version is set by goreleaser), so the
  # cache key is the directory name alone.
  [ -x "$dir/bin/grpcurl" ] && return
  log "building grpcurl $GRPCURL_VERSION"
  go_install "$dir" grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl "$GRPCURL_VERSION"
  "$dir/bin/grpcurl" -version >/dev/null 2>&1 || { log "built grpcurl does not run"; exit 1; }
}

build_toxiproxy() {
  local dir="$cache/toxiproxy-$TOXIPROXY_VERSION"
  [ -x "$dir/bin/toxiproxy" ] && return
  log "building toxiproxy $TOXIPROXY_VERSION"
  go_install "$dir" toxiproxy github.com/Shopify/toxiproxy/v2/cmd/server "$TOXIPROXY_VERSION"
  "$dir/bin/toxiproxy" -version >/dev/null 2>&1 || { log "built toxiproxy does not run"; exit 1; }
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(etcd kube helm buf actionlint grpcurl toxiproxy)
for t in "${targets[@]}"; do
  case $t in
    kube) build_kube ;;
    etcd) build_etcd ;;
    helm) build_helm ;;
    buf) build_buf ;;
    actionlint) build_actionlint ;;
    grpcurl) build_grpcurl ;;
    toxiproxy) build_toxiproxy ;;
    *) log "unknown target $t (kube|etcd|helm|buf|actionlint|grpcurl|toxiproxy)"; exit 2 ;;
  esac
done

env_file="$cache/tools-$K8S_VERSION-$ETCD_VERSION-$HELM_VERSION-$BUF_VERSION-$ACTIONLINT_VERSION-$GRPCURL_VERSION-$TOXIPROXY_VERSION.env"
cat >"$env_file" <<ENV
DDQ_KUBE_APISERVER=$cache/k8s-$K8S_VERSION/bin/kube-apiserver
DDQ_KUBECTL=$cache/k8s-$K8S_VERSION/bin/kubectl
DDQ_ETCD=$cache/etcd-$ETCD_VERSION/bin/etcd
DDQ_HELM=$cache/helm-$HELM_VERSION/bin/helm
DDQ_BUF=$cache/buf-$BUF_VERSION/bin/buf
DDQ_ACTIONLINT=$cache/actionlint-$ACTIONLINT_VERSION/bin/actionlint
DDQ_GRPCURL=$cache/grpcurl-$GRPCURL_VERSION/bin/grpcurl
DDQ_TOXIPROXY=$cache/toxiproxy-$TOXIPROXY_VERSION/bin/toxiproxy
ENV
echo "$env_file"
