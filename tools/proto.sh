#!/usr/bin/env bash
# The gRPC contract's checks and code generation (proto/ddq/v1), with the pinned buf.
#   tools/proto.sh lint       buf lint (STANDARD + COMMENTS)
#   tools/proto.sh breaking   buf breaking against the newest release tag v* (skipped, with a note,
#                             before the first release); AGAINST=<git ref> overrides the baseline
#   tools/proto.sh generate   regenerate proto/gen: ts-proto + grpc-js services, and
#                             proto/gen/descriptors.binpb, the FileDescriptorSet server reflection
#                             serves (ddq/v1 with its imports, plus grpc.health.v1 and
#                             grpc.reflection from the pinned npm packages that implement them)
#   tools/proto.sh check      lint + breaking + proto/gen is what generate produces
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck disable=SC1090
source "$("$root/tools/k8s/build.sh" buf)"
buf=$DDQ_BUF
log() { printf '[proto] %s\n' "$*" >&2; }

lint() { (cd "$root/proto" && "$buf" lint); }

breaking() {
  local against=${AGAINST:-}
  if [ -z "$against" ]; then
    against=$(git -C "$root" tag --list 'v*' --sort=-v:refname | head -1)
    if [ -z "$against" ]; then
      log "no release tag v* yet: nothing to compare against (the first release sets the baseline)"
      return 0
    fi
  fi
  log "breaking-change check against $against"
  (cd "$root/proto" && "$buf" breaking --against "$root/.git#ref=$against,subdir=proto")
}

# descriptors OUT: every file the API port serves, with real names, dependencies and comments
# (buf images minus buf's own extensions, so a plain google.protobuf.FileDescriptorSet). Two
# serialized FileDescriptorSets concatenated are one set holding both lists of files.
descriptors() {
  local out=$1 grpc
  grpc=$(mktemp -d)
  mkdir -p "$grpc/grpc/health/v1" "$grpc/grpc/reflection"
  cp "$root/node_modules/grpc-health-check/proto/health/v1/health.proto" "$grpc/grpc/health/v1/"
  cp -r "$root/node_modules/@grpc/reflection/build/proto/grpc/reflection/v1" \
    "$root/node_modules/@grpc/reflection/build/proto/grpc/reflection/v1alpha" "$grpc/grpc/reflection/"
  (cd "$root/proto" && "$buf" build --as-file-descriptor-set -o "$grpc/ddq.binpb")
  (cd "$grpc" && "$buf" build --as-file-descriptor-set -o "$grpc/grpc.binpb")
  cat "$grpc/ddq.binpb" "$grpc/grpc.binpb" >"$out"
  rm -rf "$grpc"
}

generate() {
  local out=${1:-$root/proto/gen}
  local tmp
  tmp=$(mktemp -d)
  (cd "$root/proto" && "$buf" generate --output "$tmp")
  descriptors "$tmp/gen/descriptors.binpb"
  rm -rf "$out"
  mkdir -p "$(dirname "$out")"
  mv "$tmp/gen" "$out"
  rm -rf "$tmp"
}

check() {
  lint
  breaking
  local fresh
  fresh=$(mktemp -d)
  generate "$fresh/gen"
  if ! diff -r "$fresh/gen" "$root/proto/gen" >/dev/null; then
    diff -r "$fresh/gen" "$root/proto/gen" | head -20 >&2
    rm -rf "$fresh"
    log "proto/gen is stale: run make proto"
    exit 1
  fi
  rm -rf "$fresh"
  log "ok"
}

case ${1:-check} in
  lint) lint ;;
  breaking) breaking ;;
  generate) generate ;;
  check) check ;;
  *) log "usage: tools/proto.sh lint|breaking|generate|check"; exit 2 ;;
esac
