#!/usr/bin/env bash
# make e2e-k8s: the Helm chart on a live single-node cluster.
#
# Here, on the machine: install the packages it needs, build the Kubernetes
# components (cluster.sh build-node), the load generator and the pause
# program, and the images from the repository's Dockerfile on a Docker engine
# of our own (test/lib/docker.sh), saved as tarballs. Then e2e-steps.sh runs
# in a new network namespace and a private mount namespace, where it starts
# the cluster, imports the images into containerd and runs the checks. When
# it returns, this script checks that nothing it started is left: no process,
# no kubepods cgroup; both namespaces went away with their last process.
#
# Environment: K8S_BIN_DIR (the Kubernetes build cache, default
# ~/.cache/shardinit-test-k8s/bin), KEEP_WORK=1 (keep the logs of a passing
# run), TCP_MIGRATE_REQ=0 (leave net.ipv4.tcp_migrate_req off in the test's
# network namespace, to see what it buys: the handovers then lose requests).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
T0=$SECONDS

step "packages"
. test/lib/need.sh
need dockerd:docker.io containerd:containerd runc:runc etcd:etcd-server busybox:busybox-static \
	curl:curl python3:python3 openssl:openssl ip:iproute2 unshare:util-linux pgrep:procps
echo "containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1 {print $3}'), etcd $(etcd --version | awk 'NR==1 {print $3}')"

work=$(mktemp -d /tmp/shardinit-e2e-k8s.XXXXXX)
. test/lib/docker.sh
cgroups_before=$work/cgroups.before
find /sys/fs/cgroup -maxdepth 2 -type d -name kubepods | sort >"$cgroups_before"

cleanup() {
	local rc=$?
	set +e
	docker_stop
	if [ $rc -ne 0 ] || [ "${KEEP_WORK:-0}" = 1 ]; then
		echo "logs kept in $work" >&2
		rm -rf "$work/data" "$work/exec" "$work/builder"
	else
		rm -rf "$work"
	fi
	exit $rc
}
trap cleanup EXIT

step "build the Kubernetes components (cold here: 117 s for kube-apiserver, 92 s for the other three; cached after)"
export K8S_BIN_DIR=${K8S_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/shardinit-test-k8s/bin}
start=$SECONDS
test/k8s/cluster.sh build-node "$work/cluster"
echo "kube-apiserver, kube-controller-manager, kube-scheduler, kubelet v1.36.3 ready in $((SECONDS - start))s"
. deploy/find-helm.sh
echo "helm: $helm"

step "build the load generator and the pause program"
go build -o "$work/loadgen" ./bench/cmd/loadgen
mkdir -p "$work/pause"
(cd test/k8s && CGO_ENABLED=0 go build -ldflags "-s -w" -o "$work/pause/pause" ./cmd/pause)
printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' >"$work/pause/Dockerfile"

step "build the images on a Docker engine of our own, save them for containerd"
docker_start
docker_builder
docker_build demo shardinit-demo:e2e
$docker build -q -t shardinit-e2e-pause:1 "$work/pause" >/dev/null
$docker save -o "$work/demo.tar" shardinit-demo:e2e
$docker save -o "$work/pause.tar" shardinit-e2e-pause:1
ls -l "$work"/*.tar | awk '{printf "%s %.1f MiB\n", $NF, $5 / 1048576}'
docker_stop

step "the cluster, in a network and mount namespace of its own"
export HELM=$helm LOADGEN=$work/loadgen
export IMAGES="$work/pause.tar $work/demo.tar" SANDBOX_IMAGE=docker.io/library/shardinit-e2e-pause:1
export CGROUPS_BEFORE=$cgroups_before
set +e
unshare --net --mount --propagation private -- bash test/k8s/e2e-steps.sh "$work/cluster"
rc=$?
set -e

step "the machine as it was"
leftover=$(find /sys/fs/cgroup -maxdepth 2 -type d -name kubepods | sort | comm -13 "$cgroups_before" -)
[ -z "$leftover" ] || fail "kubepods cgroups left: $leftover"
echo "no kubepods cgroup left"
for name in kubelet containerd kube-apiserver kube-controller-manager kube-scheduler etcd containerd-shim-runc-v2; do
	for p in $(pgrep -x "${name:0:15}" || true); do
		cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null || true) # whole, so grep -q cannot SIGPIPE the reader
		grep -qF "$work" <<<"$cmd" && fail "$name (pid $p) still runs"
	done
done
echo "no process of the run left"
! grep -qF "$work" /proc/mounts || fail "mounts under $work left: $(grep -F "$work" /proc/mounts)"
echo "no mount of the run left"
[ $rc -eq 0 ] || fail "e2e-steps.sh failed (exit $rc)"
printf '\nPASS e2e-k8s in %ds\n' $((SECONDS - T0))
