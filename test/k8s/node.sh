#!/usr/bin/env bash
# The rest of a single-node cluster, on top of cluster.sh's etcd and
# kube-apiserver: kube-controller-manager, kube-scheduler, containerd + runc
# and a kubelet, all on 127.0.0.1.
#
#   node.sh start DIR   after `cluster.sh start DIR`: start them, wait for the
#                       node to be Ready; PIDs are appended to DIR/pids
#   node.sh stop DIR    remove every container, then stop everything in
#                       DIR/pids (cluster.sh stop) and the containerd shims
#                       that served DIR's containerd
#
# Run it inside a network namespace and a private mount namespace of its own
# (e2e.sh does): the kubelet writes kernel sysctls and mounts volumes, and
# containerd keeps its shim sockets under /run/containerd. e2e.sh bind-mounts
# copies over those sysctls and a tmpfs over /run, so the machine never sees
# either. See /work/shared/K8S-LOCAL.md for why each setting is here.
#
# Environment: SANDBOX_IMAGE (the pause image, already imported by the
# caller: it is never pulled), NODE_READY_TIMEOUT (seconds, default 120).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { printf '[node %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ $# -eq 2 ] || { echo "usage: $0 {start|stop} DIR" >&2; exit 2; }
CMD=$1 DIR=$(cd "$2" && pwd)
[ -f "$DIR/env" ] || die "$DIR/env missing: run cluster.sh start $DIR first"
# shellcheck disable=SC1091
. "$DIR/env"
SOCK=$DIR/containerd/containerd.sock
ctr() { command ctr --address "$SOCK" --namespace k8s.io "$@"; }
k() { "$KUBECTL" --kubeconfig "$KUBECONFIG" --request-timeout=10s "$@"; }

fail() { die "$@"; }
. "$HERE/../lib/wait.sh"
. "$HERE/../lib/proc.sh"
. "$HERE/../lib/ports.sh"

# run NAME LOG COMMAND...: start a component in the background, record its PID.
run() {
    local name=$1 logf=$DIR/$2
    shift 2
    "$@" </dev/null >"$logf" 2>&1 &
    echo "$name $!" >>"$DIR/pids"
    log "$name pid $!, log $logf"
}

write_containerd_config() {
    mkdir -p "$DIR/containerd" "$DIR/cni/net.d" "$DIR/cni/bin"
    # Loopback only: every pod of the test runs in the node's network
    # namespace, but the runtime reports the network ready only once a CNI
    # configuration exists.
    cat >"$DIR/cni/net.d/10-loopback.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "loopback", "plugins": [{"type": "loopback"}]}
EOF
    cat >"$DIR/containerd/config.toml" <<EOF
version = 2
root = "$DIR/containerd/root"
state = "$DIR/containerd/state"
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$DIR/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$SANDBOX_IMAGE"
  # Without CAP_SYS_RESOURCE, lowering a container's oom_score_adj below
  # containerd's own fails every pod start.
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$DIR/cni/bin"
    conf_dir = "$DIR/cni/net.d"
EOF
}

write_kubelet_config() {
    mkdir -p "$DIR/kubelet"
    cat >"$DIR/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
evictionHard: {}
containerRuntimeEndpoint: unix://$SOCK
volumePluginDir: $DIR/kubelet/volume-plugins
podLogsDir: $DIR/kubelet/pod-logs
resolvConf: /etc/resolv.conf
serializeImagePulls: false
EOF
}

cmd_start() {
    [ -n "${SANDBOX_IMAGE:-}" ] || die "SANDBOX_IMAGE is not set"
    local t0=$SECONDS ports cm_port sched_port
    ports=$(free_ports 2)
    read -r cm_port sched_port <<<"$ports"
    mkdir -p "$DIR/cm-certs" "$DIR/sched-certs"
    run kube-controller-manager kube-controller-manager.log "$K8S_BIN/kube-controller-manager" \
        --kubeconfig="$KUBECONFIG" --leader-elect=false \
        --bind-address=127.0.0.1 --secure-port="$cm_port" --cert-dir="$DIR/cm-certs" \
        --service-account-private-key-file="$DIR/sa.key" --root-ca-file="$DIR/certs/apiserver.crt" \
        --use-service-account-credentials=false --service-cluster-ip-range=10.96.0.0/16
    run kube-scheduler kube-scheduler.log "$K8S_BIN/kube-scheduler" \
        --kubeconfig="$KUBECONFIG" --leader-elect=false \
        --bind-address=127.0.0.1 --secure-port="$sched_port" --cert-dir="$DIR/sched-certs"

    write_containerd_config
    run containerd containerd.log containerd --config "$DIR/containerd/config.toml"
    wait_for 30 "containerd to answer" ctr version
    log "containerd $(ctr version | awk '/Version:/ {print $2; exit}') answers on $SOCK"
    if [ -n "${IMAGES:-}" ]; then
        local tar
        for tar in $IMAGES; do
            ctr images import --all-platforms "$tar" >&2 || die "ctr images import $tar failed"
        done
        ctr images ls -q | sed 's/^/  image: /' >&2
    fi

    write_kubelet_config
    run kubelet kubelet.log "$K8S_BIN/kubelet" \
        --config="$DIR/kubelet/config.yaml" --kubeconfig="$KUBECONFIG" \
        --root-dir="$DIR/kubelet/root" --cert-dir="$DIR/kubelet/pki" \
        --hostname-override=127.0.0.1
    node_ready() { [ "$(k get node 127.0.0.1 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
    local deadline=$((SECONDS + ${NODE_READY_TIMEOUT:-120}))
    until node_ready 2>/dev/null; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            k get node -o wide >&2 || true
            tail -n 20 "$DIR/kubelet.log" >&2
            die "node not Ready in time"
        fi
        sleep 0.5
    done
    log "TIMING node Ready: $((SECONDS - t0))s after the controllers started"
    k get node -o wide >&2
}

# shims lists the containerd shims serving this DIR's containerd.
shims() {
    local p cmd
    for p in $(pgrep -f containerd-shim-runc-v2 || true); do
        cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null || true) # whole, so grep -q cannot SIGPIPE the reader
        grep -qF -- "$SOCK" <<<"$cmd" && echo "$p"
    done
}

cmd_stop() {
    local id p pid
    # The kubelet first: it would restart the containers removed below.
    pid=$(awk '$1 == "kubelet" {print $2}' "$DIR/pids" 2>/dev/null || true)
    [ -z "$pid" ] || stop_pid kubelet "$pid" || true
    if [ -S "$SOCK" ] && ctr version >/dev/null 2>&1; then
        # Containers first, while containerd can still stop them cleanly.
        for id in $(ctr tasks ls -q 2>/dev/null); do ctr tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
        for id in $(ctr tasks ls -q 2>/dev/null); do ctr tasks delete -f "$id" >/dev/null 2>&1 || true; done
        for id in $(ctr containers ls -q 2>/dev/null); do ctr containers delete "$id" >/dev/null 2>&1 || true; done
    fi
    local left; left=$(shims)
    "$HERE/cluster.sh" stop "$DIR" || true
    # A shim outlives containerd by design; these served our containerd only.
    for p in $left $(shims); do
        alive "$p" || continue
        log "stopping containerd shim pid $p"
        kill -KILL "$p" 2>/dev/null || true
    done
    [ -z "$(shims)" ] || die "containerd shims still running: $(shims | tr '\n' ' ')"
}

case "$CMD" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    *) echo "usage: $0 {start|stop} DIR" >&2; exit 2 ;;
esac
