#!/usr/bin/env bash
# End to end on a throw-away kind cluster, for machines with Docker and kind (CI: kind-e2e.yaml):
#   1. create the cluster (or reuse it: KIND_CLUSTER, default ddq-e2e)
#   2. build the image from ./Dockerfile and load it into the cluster
#   3. install the CRDs (server-side) and the chart with the bundled Redis (not for production)
#   4. apply examples/ (they must be accepted) and an end-to-end DelayedTask whose target.http
#      calls an in-cluster echo server through the worker pool
#   5. wait for that DelayedTask's status.phase to be Succeeded
# The pinned helm and kubectl come from tools/k8s/build.sh. KEEP_CLUSTER=1 keeps the cluster.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
log() { printf '[kind-e2e] %s\n' "$*" >&2; }

cluster=${KIND_CLUSTER:-ddq-e2e}
namespace=ddq
image=ghcr.io/ddq-io/ddq:e2e
timeout=${E2E_TIMEOUT:-180s}

for cmd in docker kind; do
  command -v "$cmd" >/dev/null || { log "$cmd is required (https://kind.sigs.k8s.io/docs/user/quick-start/)"; exit 2; }
done
# shellcheck disable=SC1090
source "$(tools/k8s/build.sh kube helm)"
kubectl=$DDQ_KUBECTL
helm=$DDQ_HELM

created=0
if ! kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  log "creating kind cluster $cluster"
  kind create cluster --name "$cluster" --wait 120s
  created=1
fi
kubeconfig=$(mktemp)
cleanup() {
  local status=$?
  if [ $status -ne 0 ]; then
    log "failed: state of namespace $namespace"
    "$kubectl" --kubeconfig "$kubeconfig" -n "$namespace" get all,delayedtasks,crontasks -o wide || true
    "$kubectl" --kubeconfig "$kubeconfig" -n "$namespace" describe delayedtask e2e-http || true
    for component in scheduler operator worker; do
      "$kubectl" --kubeconfig "$kubeconfig" -n "$namespace" logs -l "app.kubernetes.io/component=$component" --tail=100 --prefix || true
    done
  fi
  if [ "$created" = 1 ] && [ "${KEEP_CLUSTER:-0}" != 1 ]; then kind delete cluster --name "$cluster" || true; fi
  rm -f "$kubeconfig"
  exit $status
}
trap cleanup EXIT
kind get kubeconfig --name "$cluster" >"$kubeconfig"
k() { "$kubectl" --kubeconfig "$kubeconfig" "$@"; }

log "building $image"
docker build -t "$image" .
kind load docker-image "$image" --name "$cluster"

log "installing CRDs and the chart"
shopt -s nullglob
crds=(crds/*.yaml)
[ ${#crds[@]} -gt 0 ] || { log "no CRDs in crds/"; exit 1; }
k apply --server-side --force-conflicts -f crds/
k wait --for=condition=Established --timeout=60s -f crds/
k create namespace "$namespace" --dry-run=client -o yaml | k apply -f -
k label namespace "$namespace" pod-security.kubernetes.io/enforce=restricted --overwrite
"$helm" upgrade --install ddq charts/ddq --kubeconfig "$kubeconfig" -n "$namespace" --skip-crds \
  --set image.repository="${image%:*}" --set image.tag="${image##*:}" --set image.pullPolicy=Never \
  --set redis.mode=bundled --set redis.bundled.persistence.enabled=false \
  --set scheduler.replicas=2 --set worker.replicas=1 --wait --timeout 5m

log "applying examples/ and the end-to-end DelayedTask"
if [ -d examples ]; then k -n "$namespace" apply -f examples/; fi
k -n "$namespace" apply -f - <<YAML
# An echo server from the ddq image itself (Node.js), for target.http.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: e2e-echo
spec:
  selector:
    matchLabels: {app: e2e-echo}
  template:
    metadata:
      labels: {app: e2e-echo}
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        seccompProfile: {type: RuntimeDefault}
      containers:
        - name: echo
          image: $image
          imagePullPolicy: Never
          command: ["/nodejs/bin/node", "-e", "require('http').createServer((q, s) => { console.log(q.method, q.url); s.end('ok'); }).listen(8080)"]
          ports: [{containerPort: 8080}]
          readinessProbe: {tcpSocket: {port: 8080}}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: ["ALL"]}
---
apiVersion: v1
kind: Service
metadata:
  name: e2e-echo
spec:
  selector: {app: e2e-echo}
  ports: [{port: 8080, targetPort: 8080}]
YAML
k -n "$namespace" rollout status deployment/e2e-echo --timeout=120s
k -n "$namespace" apply -f test/kind-e2e/delayedtask.yaml

log "waiting up to $timeout for DelayedTask e2e-http to succeed"
k -n "$namespace" wait delayedtask/e2e-http --for=jsonpath='{.status.phase}'=Succeeded --timeout="$timeout"
k -n "$namespace" logs deployment/e2e-echo | grep -q "POST /e2e" || { log "the echo server never saw the request"; exit 1; }
log "passed: DelayedTask e2e-http Succeeded and the request reached the echo server"
