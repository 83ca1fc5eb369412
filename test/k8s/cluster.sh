#!/usr/bin/env bash
# A throwaway Kubernetes control plane (etcd + kube-apiserver) on 127.0.0.1,
# enough for `helm install` and `kubectl apply --dry-run=server`.
#
#   cluster.sh build DIR   build kube-apiserver (and kubectl if none) only
#   cluster.sh build-node DIR   also kube-controller-manager, kube-scheduler
#                          and kubelet (for node.sh)
#   cluster.sh start DIR   build if needed, start etcd + kube-apiserver, wait
#                          for /readyz, write DIR/kubeconfig, DIR/env, DIR/pids
#   cluster.sh stop DIR    stop exactly the processes listed in DIR/pids
#
# Binaries go to $K8S_BIN_DIR (default DIR/bin); kube-apiserver is rebuilt when
# it is missing, or when go.mod/go.sum are newer than it and differ from the ones
# it was built with (the Go build cache makes such rebuilds fast).
# Everything listens on 127.0.0.1 only, on free ports. See /work/shared/K8S-LOCAL.md.
#
# Environment: K8S_BIN_DIR, CLUSTER_READY_TIMEOUT (seconds, default 120),
# KUBECTL (a kubectl to use instead of the one on PATH).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
K8S_VERSION=v1.36.3
LDFLAGS="-X k8s.io/component-base/version.gitVersion=${K8S_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36"

log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

usage() { echo "usage: $0 {build|build-node|start|stop} DIR" >&2; exit 2; }

[ $# -eq 2 ] || usage
CMD=$1
if [ "$CMD" = stop ]; then
    [ -d "$2" ] || { echo "[cluster] no $2: nothing to stop" >&2; exit 0; }
else
    mkdir -p "$2"
fi
DIR=$(cd "$2" && pwd)
BIN=${K8S_BIN_DIR:-$DIR/bin}
if [ "$CMD" != stop ]; then
    mkdir -p "$BIN"
    BIN=$(cd "$BIN" && pwd)
fi

. "$HERE/../lib/proc.sh"
. "$HERE/../lib/ports.sh"
. "$HERE/../lib/need.sh"

modsum() { cat "$HERE/go.mod" "$HERE/go.sum" | sha256sum | cut -d' ' -f1; }

# go_build NAME PKG: build PKG into $BIN/NAME unless it is up to date.
go_build() {
    local name=$1 pkg=$2 out=$BIN/$1 stamp=$BIN/.$1.modsum
    if [ -x "$out" ]; then
        if ! [ "$HERE/go.mod" -nt "$out" ] && ! [ "$HERE/go.sum" -nt "$out" ]; then
            log "$name: up to date ($out)"; return 0
        fi
        if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(modsum)" ]; then
            log "$name: go.mod/go.sum touched but unchanged, keeping $out"; touch "$out"; return 0
        fi
    fi
    command -v go >/dev/null || die "go is not on PATH"
    log "$name: building $pkg@$K8S_VERSION into $out (cold: about 2 min on 2 cores with the module cache filled; warm: <1 min)"
    local t0; t0=$(now)
    (cd "$HERE" && go build -o "$out.tmp" -ldflags "$LDFLAGS" "$pkg") || die "building $name failed"
    mv -f "$out.tmp" "$out"
    modsum >"$stamp"
    log "TIMING build $name: $(since "$t0")s"
}

ensure_kubectl() {
    if [ -n "${KUBECTL:-}" ]; then echo "$KUBECTL"; return; fi
    if command -v kubectl >/dev/null 2>&1 && kubectl version --client >/dev/null 2>&1; then
        command -v kubectl; return
    fi
    go_build kubectl k8s.io/kubernetes/cmd/kubectl
    echo "$BIN/kubectl"
}

cmd_stop() {
    local rc=0 name pid lines=()
    if [ ! -f "$DIR/pids" ]; then log "no $DIR/pids: nothing to stop"; return 0; fi
    mapfile -t lines <"$DIR/pids"
    # Stop in reverse start order: kube-apiserver before etcd.
    for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
        read -r name pid <<<"${lines[$i]}"
        [ -n "${pid:-}" ] || continue
        stop_pid "$name" "$pid" || rc=1
    done
    [ $rc -eq 0 ] && rm -f "$DIR/pids"
    return $rc
}

tail_log() { log "---- last lines of $1 ----"; tail -n "${2:-30}" "$1" >&2 || true; }

cmd_start() {
    local t_start; t_start=$(now)
    if [ -f "$DIR/pids" ]; then
        log "$DIR/pids exists: stopping the previous cluster first"
        cmd_stop || die "could not stop the previous cluster"
    fi
    go_build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
    local kubectl; kubectl=$(ensure_kubectl)
    need etcd:etcd-server

    # Failures from here on stop whatever was started.
    trap 'rc=$?; if [ $rc -ne 0 ]; then log "start failed; stopping what was started"; cmd_stop || true; fi' EXIT

    local t_run; t_run=$(now)
    local ports etcd_port peer_port api_port token
    ports=$(free_ports 3)
    read -r etcd_port peer_port api_port <<<"$ports"
    token=$(openssl rand -hex 24)
    : >"$DIR/pids"

    rm -rf "$DIR/etcd"
    mkdir -p "$DIR/etcd" "$DIR/certs"
    chmod 700 "$DIR/etcd"
    etcd --name=shardinit-test --data-dir="$DIR/etcd" \
        --listen-client-urls="http://127.0.0.1:$etcd_port" --advertise-client-urls="http://127.0.0.1:$etcd_port" \
        --listen-peer-urls="http://127.0.0.1:$peer_port" --initial-advertise-peer-urls="http://127.0.0.1:$peer_port" \
        --initial-cluster="shardinit-test=http://127.0.0.1:$peer_port" --initial-cluster-state=new \
        --initial-cluster-token="shardinit-test-$$" \
        --logger=zap --log-outputs=stderr --quota-backend-bytes=1073741824 \
        </dev/null >"$DIR/etcd.log" 2>&1 &
    local etcd_pid=$!
    echo "etcd $etcd_pid" >>"$DIR/pids"
    log "etcd pid $etcd_pid on 127.0.0.1:$etcd_port (peer $peer_port), log $DIR/etcd.log"

    local deadline=$((SECONDS + ${CLUSTER_READY_TIMEOUT:-120}))
    until curl -sf "http://127.0.0.1:$etcd_port/health" 2>/dev/null | grep -q '"health":"true"'; do
        alive "$etcd_pid" || { tail_log "$DIR/etcd.log"; die "etcd exited"; }
        [ $SECONDS -lt $deadline ] || { tail_log "$DIR/etcd.log"; die "etcd not healthy in time"; }
        sleep 0.2
    done
    log "TIMING etcd healthy: $(since "$t_run")s"

    [ -f "$DIR/sa.key" ] || openssl genrsa -out "$DIR/sa.key" 2048 2>/dev/null
    openssl rsa -in "$DIR/sa.key" -pubout -out "$DIR/sa.pub" 2>/dev/null
    printf '%s,admin,admin,system:masters\n' "$token" >"$DIR/tokens.csv"
    chmod 600 "$DIR/tokens.csv" "$DIR/sa.key"

    "$BIN/kube-apiserver" \
        --etcd-servers="http://127.0.0.1:$etcd_port" \
        --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
        --cert-dir="$DIR/certs" \
        --token-auth-file="$DIR/tokens.csv" \
        --authorization-mode=Node,RBAC \
        --service-account-issuer=https://kubernetes.default.svc.cluster.local \
        --service-account-key-file="$DIR/sa.pub" \
        --service-account-signing-key-file="$DIR/sa.key" \
        --service-cluster-ip-range=10.96.0.0/16 \
        --endpoint-reconciler-type=none \
        --profiling=false \
        </dev/null >"$DIR/kube-apiserver.log" 2>&1 &
    local api_pid=$!
    echo "kube-apiserver $api_pid" >>"$DIR/pids"
    log "kube-apiserver pid $api_pid on https://127.0.0.1:$api_port, log $DIR/kube-apiserver.log"

    local t_api; t_api=$(now)
    until [ "$(curl -sk --max-time 2 -H "Authorization: Bearer $token" "https://127.0.0.1:$api_port/readyz" 2>/dev/null)" = ok ]; do
        alive "$api_pid" || { tail_log "$DIR/kube-apiserver.log"; die "kube-apiserver exited"; }
        [ $SECONDS -lt $deadline ] || {
            curl -sk -H "Authorization: Bearer $token" "https://127.0.0.1:$api_port/readyz?verbose" >&2 || true
            tail_log "$DIR/kube-apiserver.log"; die "kube-apiserver not ready in time"; }
        sleep 0.2
    done
    log "TIMING kube-apiserver ready: $(since "$t_api")s"

    cat >"$DIR/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:$api_port
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: $token
contexts:
- name: local
  context:
    cluster: local
    user: admin
    namespace: default
current-context: local
EOF
    chmod 600 "$DIR/kubeconfig"
    cat >"$DIR/env" <<EOF
KUBECONFIG=$DIR/kubeconfig
KUBECTL=$kubectl
KUBE_APISERVER=https://127.0.0.1:$api_port
ETCD=http://127.0.0.1:$etcd_port
K8S_BIN=$BIN
EOF

    # The admin must see the default namespace and be able to create ServiceAccounts.
    local k=("$kubectl" --kubeconfig "$DIR/kubeconfig" --request-timeout=10s)
    until "${k[@]}" get namespace default >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || { "${k[@]}" get ns >&2 || true; die "namespace default not there in time"; }
        sleep 0.2
    done
    "${k[@]}" get namespaces >&2
    "${k[@]}" -n default create serviceaccount cluster-sh-smoke >&2 || die "cannot create a ServiceAccount"
    "${k[@]}" -n default delete serviceaccount cluster-sh-smoke --wait=false >&2 || die "cannot delete the ServiceAccount"
    log "TIMING cluster ready (start to usable): $(since "$t_run")s; total with build: $(since "$t_start")s"
    log "kubeconfig: $DIR/kubeconfig   stop with: $0 stop $DIR"
    trap - EXIT
}

case "$CMD" in
    build) go_build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver; ensure_kubectl >/dev/null; need etcd:etcd-server ;;
    build-node)
        for c in kube-apiserver kube-controller-manager kube-scheduler kubelet; do go_build "$c" "k8s.io/kubernetes/cmd/$c"; done
        ensure_kubectl >/dev/null; need etcd:etcd-server ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    *) usage ;;
esac
