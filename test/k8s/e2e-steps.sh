#!/usr/bin/env bash
# The checks of make e2e-k8s, run by e2e.sh inside a new network namespace
# and a private mount namespace:  e2e-steps.sh CLUSTER_DIR
#
# Needs from e2e.sh: HELM, LOADGEN, IMAGES, SANDBOX_IMAGE, K8S_BIN_DIR.
# Each step prints RESULT lines with what it measured. Everything started
# here is stopped by PID before it returns (node.sh stop), and the kubepods
# cgroups the kubelet made are removed.
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=test/k8s
DIR=$1
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
NS=e2e REL=e2e DEPLOY=e2e-shardinit
APP=127.0.0.1:8080 HEALTH=127.0.0.1:8081
T0=$SECONDS

step() { printf '\n== %s   [%ds]\n' "$*" $((SECONDS - T0)); }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
result() { printf 'RESULT %s\n' "$*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

. test/lib/wait.sh

# ---- the namespaces: nothing done here is seen by the machine ----------
MIGRATE=${TCP_MIGRATE_REQ:-1}
step "network namespace: lo up, net.ipv4.tcp_migrate_req=$MIGRATE; private /run, /var/log and kernel sysctls"
ip link set lo up
# As an operator of hostNetwork pods that share ports would: connections
# queued on a closing listener move to another socket of its group.
# (TCP_MIGRATE_REQ=0 shows what happens without.)
echo "$MIGRATE" >/proc/sys/net/ipv4/tcp_migrate_req
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p "$DIR/var-log" "$DIR/sysctl"
mount --bind "$DIR/var-log" /var/log
# The kubelet sets these to its liking: it gets copies, the machine keeps its own.
for f in vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops \
	kernel/keys/root_maxkeys kernel/keys/root_maxbytes; do
	[ -e "/proc/sys/$f" ] || continue
	copy=$DIR/sysctl/${f//\//.}
	cat "/proc/sys/$f" >"$copy"
	mount --bind "$copy" "/proc/sys/$f"
done

teardown() {
	local rc=$?
	set +e
	trap - EXIT
	step "teardown"
	[ -n "${watch_pid:-}" ] && kill "$watch_pid" 2>/dev/null
	for p in $(jobs -p); do kill "$p" 2>/dev/null; done
	if [ -n "${k_ready:-}" ]; then
		"$HELM" --kubeconfig "$KUBECONFIG" -n "$NS" uninstall "$REL" --wait --timeout 60s >/dev/null 2>&1
	fi
	[ -f "$DIR/env" ] && $HERE/node.sh stop "$DIR"
	remove_kubepods
	exit $rc
}
trap teardown EXIT

# remove_kubepods removes, deepest first, the kubepods cgroups this run made.
remove_kubepods() {
	local d
	for d in $(find /sys/fs/cgroup -maxdepth 2 -type d -name kubepods); do
		grep -qxF "$d" "${CGROUPS_BEFORE:-/dev/null}" 2>/dev/null && continue
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
		[ -d "$d" ] && echo "WARNING: could not remove $d" >&2
	done
	return 0
}

# ---- the cluster -------------------------------------------------------
step "etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd, kubelet"
$HERE/cluster.sh start "$DIR"
. "$DIR/env"
export KUBECONFIG KUBECACHEDIR=$DIR/kube-cache
export HELM_CACHE_HOME=$DIR/helm/cache HELM_CONFIG_HOME=$DIR/helm/config HELM_DATA_HOME=$DIR/helm/data
$HERE/node.sh start "$DIR"
k() { "$KUBECTL" --request-timeout=20s -n "$NS" "$@"; }
k_ready=1
"$KUBECTL" create namespace "$NS" >/dev/null
"$KUBECTL" get --raw /version | python3 -c 'import json,sys; print("server", json.load(sys.stdin)["gitVersion"])'

# The pods' timeline, from the API server's watch, for every step below.
# (No request timeout: the watch lasts the whole run.)
"$KUBECTL" -n "$NS" get pods -w -o json --output-watch-events 2>"$DIR/podwatch.err" |
	python3 -u $HERE/podwatch.py >"$DIR/pods.log" &
watch_pid=$!

# The release's pods, not helm test's (app.kubernetes.io/name: shardinit-test).
SELECTOR=app.kubernetes.io/name=shardinit,app.kubernetes.io/instance=$REL
pod_name() { # the pod of the release that is not being deleted
	k get pods -l "$SELECTOR" -o json | python3 -c 'import json,sys
pods = [p for p in json.load(sys.stdin)["items"] if not p["metadata"].get("deletionTimestamp")]
print(pods[0]["metadata"]["name"] if pods else "")'
}
pod_ready() { [ "$(k get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
# logtime FILE MSG: the time (epoch seconds) of shardinit's first JSON log line with msg MSG.
logtime() {
	python3 -B -c 'import sys; sys.path.insert(0, sys.argv[1]); import handover
t, _ = handover.shardinit_log(sys.argv[2]).get(sys.argv[3], (None, None))
print("%.3f" % t if t is not None else "")' "$HERE" "$1" "$2"
}
# new_pod OLD: a pod other than OLD, not being deleted, exists.
new_pod() { local p; p=$(pod_name); [ -n "$p" ] && [ "$p" != "$1" ]; }
# events POD REASON...: the pod's events with one of the REASONs, one line each.
events() {
	local pod=$1
	shift
	k get events --field-selector "involvedObject.name=$pod" -o json | python3 -c 'import json,sys
for e in json.load(sys.stdin)["items"]:
    if e["reason"] in sys.argv[1:]:
        print("%s x%d: %s" % (e["reason"], e.get("count") or 1, e["message"].strip()))' "$@"
}
status_field() { curl -s --max-time 2 "$HEALTH/status" | python3 -c "import json,sys; r = json.load(sys.stdin); print($1)"; }
ctr() { command ctr --address "$DIR/containerd/containerd.sock" --namespace k8s.io "$@"; }
# host_pid POD: shardinit's PID on the machine (the container's init).
host_pid() {
	local cid
	cid=$(k get pod "$1" -o jsonpath='{.status.containerStatuses[0].containerID}')
	ctr tasks ls | awk -v id="${cid#containerd://}" '$1 == id { print $2 }'
}
values=(-f deploy/values/hostnetwork.yaml -f $HERE/e2e-values.yaml)

# ---- 1. install ---------------------------------------------------------
step "1. helm install (hostNetwork, shareHostPorts): Ready through the kubelet's probes, PID 1, workers from the CPU limit"
t0=$(now)
"$HELM" install "$REL" deploy/helm/shardinit -n "$NS" "${values[@]}" >/dev/null
wait_for 60 "the pod to be created" eval '[ -n "$(pod_name)" ]'
pod=$(pod_name)
wait_for 120 "pod $pod to be Ready" pod_ready "$pod"
t_ready=$(now)
k logs "$pod" >"$DIR/install.log"
started=$(logtime "$DIR/install.log" starting)
result "time to Ready: $(elapsed "$t0" "$t_ready")s from helm install, $(elapsed "$started" "$t_ready")s from shardinit's start (probe period 1s)"
echo "the pod's timeline (running, then Ready once a probe passed):"
awk -v p="$pod" -v t0="$t0" '$2 == p { $1 = sprintf("+%.2fs", $1 - t0); print "  " $0 }' "$DIR/pods.log"
probes=$(k get pod "$pod" -o jsonpath='{range .spec.containers[0]}{.startupProbe.httpGet.path}:{.startupProbe.httpGet.port} {.readinessProbe.httpGet.path}:{.readinessProbe.httpGet.port} {.livenessProbe.httpGet.path}:{.livenessProbe.httpGet.port}{end}')
echo "probes (httpGet path:port): startup, readiness, liveness = $probes"
[ "$probes" = "/readyz:8081 /readyz:8081 /livez:8081" ] || fail "unexpected probes: $probes"
echo "/readyz?verbose: $(curl -s "$HEALTH/readyz?verbose" | tr '\n' ' ')"

pid=$(host_pid "$pod")
[ -n "$pid" ] || fail "no task for pod $pod in containerd"
nspid=$(awk '/^NSpid:/ {print $NF}' "/proc/$pid/status")
uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
exe=$(readlink "/proc/$pid/exe")
result "PID 1: $exe is pid $nspid in its container (pid $pid on the node), uid $uid"
[ "$nspid" = 1 ] && [ "$exe" = /shardinit ] || fail "the container's init is $exe as pid $nspid, not /shardinit as pid 1"
[ "$uid" = 65532 ] || fail "shardinit runs as uid $uid"
cpu_cgroup=$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ {print $3}' "/proc/$pid/cgroup")
cpu_dir=$(find /sys/fs/cgroup -maxdepth 1 -name 'cpu,cpuacct' -o -maxdepth 1 -name cpu | head -1)
quota=$(cat "$cpu_dir$cpu_cgroup/cpu.cfs_quota_us") period=$(cat "$cpu_dir$cpu_cgroup/cpu.cfs_period_us")
children=$(pgrep -c -P "$pid" || true)
slots=$(status_field 'len(r["slots"])')
result "workers: CPU limit 1 (cfs quota $quota us per $period us) -> $slots slots, $children worker processes (the node has $(nproc) CPUs)"
[ "$slots" = 1 ] && [ "$children" = 1 ] || fail "want 1 worker for a CPU limit of 1"
k exec "$pod" -- /shardinit status | sed 's/^/  kubectl exec -- \/shardinit status: /'

# ---- 1b. helm test ----------------------------------------------------
step "1b. helm test: the chart's test pod probes /readyz (hostNetwork: 127.0.0.1 on the release pod's node; no DNS, no kube-proxy here)"
t0=$(now)
"$HELM" test "$REL" -n "$NS" --logs --timeout 60s >"$DIR/helm-test.log" 2>&1 || { cat "$DIR/helm-test.log" >&2; fail "helm test failed"; }
t1=$(now)
sed 's/^/  /' "$DIR/helm-test.log"
test_pod=$DEPLOY-test
phase=$(k get pod "$test_pod" -o jsonpath='{.status.phase}')
node=$(k get pod "$test_pod" -o jsonpath='{.spec.nodeName} hostNetwork={.spec.hostNetwork}')
answer=$(grep -m1 '^/readyz' "$DIR/helm-test.log" || true)
result "helm test: pod $test_pod $phase in $(elapsed "$t0" "$t1")s on node $node: ${answer:-no answer logged}"
[ "$phase" = Succeeded ] && [ -n "$answer" ] || fail "helm test pod $test_pod: phase $phase, log: $answer"

# ---- 1c. in-place resize ----------------------------------------------
# resize CPU: the pod's CPU request and limit through the resize
# subresource, as kubectl patch --subresource resize does; the pool follows
# the new limit (--cpu-limit-check, 5s) without a container restart.
resize() {
	k patch pod "$pod" --subresource resize -p \
		"{\"spec\":{\"containers\":[{\"name\":\"shardinit\",\"resources\":{\"requests\":{\"cpu\":\"$1\"},\"limits\":{\"cpu\":\"$1\"}}}]}}" >/dev/null
}
# pool_at N LIMIT: /status shows N ready slots for a CPU limit of LIMIT, no roll or scale under way.
pool_at() {
	[ "$(status_field "len(r['slots']) == $1 and r['cpu']['limit'] == $2 and not r['rolling'] and all(s['state'] == 'ready' and not s.get('retiring') for s in r['slots'])")" = True ]
}
step "1c. in-place resize under load: CPU 1 -> 2 -> 1 through the resize subresource, no container restart"
restarts0=$(k get pod "$pod" -o jsonpath='{.status.containerStatuses[0].restartCount}')
"$LOADGEN" -addr $APP -rate 600 -conns 12 -duration 300s -timeout 5s >"$DIR/resize-keepalive.json" &
ka=$!
"$LOADGEN" -addr $APP -rate 150 -conns 6 -keepalive=false -duration 300s -timeout 5s >"$DIR/resize-close.json" &
cl=$!
sleep 2 # load on the pool before the resize
for to in 2 1; do
	t0=$(now)
	resize "$to"
	wait_for 60 "the pool to follow a CPU limit of $to" pool_at "$to" "$to" ||
		{ k get pod "$pod" -o jsonpath='{.status.resize} {.status.conditions}' >&2; fail "the pool did not follow the resize to $to CPUs"; }
	t1=$(now)
	quota=$(cat "$cpu_dir$cpu_cgroup/cpu.cfs_quota_us")
	result "resize to $to CPU: $to workers $(elapsed "$t0" "$t1")s after the patch (cfs quota $quota us per $period us; --cpu-limit-check 5s)"
done
sleep 2 # and after it
kill -INT $ka $cl
wait $ka $cl
restarts=$(k get pod "$pod" -o jsonpath='{.status.containerStatuses[0].restartCount}')
changes=$(curl -s --max-time 2 "$HEALTH/metrics" | awk '$1 == "shardinit_cpu_limit_changes_total" {print $2}')
result "resize: restart count $restarts0 -> $restarts, shardinit_cpu_limit_changes_total $changes"
failed=0
for kind in keepalive close; do
	python3 - "$DIR/resize-$kind.json" "$kind" <<'PY' || failed=1
import json, sys
r = json.load(open(sys.argv[1]))
bad = sum(r["errors"].values()) + r["unstarted"]
print(f"RESULT resize load ({sys.argv[2]}): {r['due']} requests due, {r['done']} answered, {bad} failed {r['errors']}, p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms")
sys.exit(bad != 0 or r["done"] != r["due"])
PY
done
[ "$failed" = 0 ] || fail "requests failed during the resize"
[ "$restarts" = "$restarts0" ] || fail "the container restarted during the resize ($restarts0 -> $restarts)"
[ "$changes" = 2 ] || fail "shardinit_cpu_limit_changes_total is $changes, want 2"

# ---- 2 and 3: a pod replaced under load --------------------------------
# under_load NAME COMMAND...: runs COMMAND, which replaces the pod, while
# two load generators (keep-alive, and a new connection per request) send
# to the service port; then checks the handover.
under_load() {
	local name=$1 old new t0 logs ka cl
	shift
	old=$(pod_name)
	k logs -f "$old" >"$DIR/$name-old.log" 2>&1 &
	logs=$!
	"$LOADGEN" -addr $APP -rate 600 -conns 12 -duration 300s -timeout 5s >"$DIR/$name-keepalive.json" &
	ka=$!
	"$LOADGEN" -addr $APP -rate 150 -conns 6 -keepalive=false -duration 300s -timeout 5s >"$DIR/$name-close.json" &
	cl=$!
	sleep 2 # load on the old pod alone first
	t0=$(now)
	"$@" >/dev/null
	wait_for 120 "a new pod" new_pod "$old"
	new=$(pod_name)
	wait_for 120 "the new pod $new to be Ready" pod_ready "$new"
	wait_for 120 "the old pod $old to be gone" eval '! k get pod "$old"'
	echo "new pod $new Ready and old pod $old gone $(elapsed "$t0" "$(now)")s after: $*"
	sleep 2 # and on the new pod alone
	kill -INT $ka $cl
	wait $ka $cl
	wait $logs || true
	k logs "$new" >"$DIR/$name-new.log"
	# What the kubelet's probes saw of the new pod before it was Ready.
	events "$new" Unhealthy | sed 's/^/  event on the new pod: /'
	python3 $HERE/handover.py "$name" "$DIR" "$old" "$new" \
		"$(k get pod "$new" -o jsonpath='{.spec.terminationGracePeriodSeconds}')"
}

step "2. kubectl rollout restart under load"
under_load rollout "$KUBECTL" -n "$NS" rollout restart "deploy/$DEPLOY"
k rollout status "deploy/$DEPLOY" --timeout=60s

step "3a. kubectl delete pod under load"
under_load delete "$KUBECTL" -n "$NS" delete pod "$(pod_name)" --wait=false

step "3b. helm upgrade under load: drainDelaySeconds 5 -> 3, CPU limit 1 -> 2"
under_load upgrade "$HELM" upgrade "$REL" deploy/helm/shardinit -n "$NS" "${values[@]}" \
	--set shardinit.drainDelaySeconds=3 --set resources.limits.cpu=2
pod=$(pod_name)
slots=$(status_field 'len(r["slots"])')
delay=$(k exec "$pod" -- /shardinit check -- /hello | awk '$1 == "drain-delay:" {print $2}')
result "upgrade: the new pod runs $slots workers (CPU limit 2) with drain-delay $delay"
[ "$slots" = 2 ] || fail "want 2 workers for a CPU limit of 2, got $slots"
[ "$delay" = 3s ] || fail "want drain-delay 3s in the new pod, got '$delay'"

# ---- 4. stuck workers ---------------------------------------------------
step "4. every worker SIGSTOPped through kubectl exec: /livez fails, the kubelet restarts the container"
pod=$(pod_name)
restarts0=$(k get pod "$pod" -o jsonpath='{.status.containerStatuses[0].restartCount}')
# A few new connections a second: they wait in the stopped workers' queues,
# which is what shardinit watches. Their failures are expected, and counted.
"$LOADGEN" -addr $APP -rate 20 -conns 4 -keepalive=false -duration 300s -timeout 2s >"$DIR/stuck-load.json" &
load=$!
t0=$(now)
k exec "$pod" -- /shardinit signal STOP | sed 's/^/  /'
wait_for 60 "/livez to fail" eval '[ "$(curl -s -o /dev/null -w "%{http_code}" --max-time 2 "$HEALTH/livez")" = 503 ]'
t_livez=$(now)
echo "/livez?verbose: $(curl -s --max-time 2 "$HEALTH/livez?verbose" | tr '\n' ' ')"
curl -s --max-time 2 "$HEALTH/metrics" >"$DIR/stuck-metrics.txt"
echo "shardinit's metrics while stuck:"
grep -E '^shardinit_(workers\{state="stuck"\}|stuck_workers_total|ready) |^shardinit_listener_queue_length\{' "$DIR/stuck-metrics.txt" | sed 's/^/  /'
stuck=$(awk '$1 == "shardinit_workers{state=\"stuck\"}" {print $2}' "$DIR/stuck-metrics.txt")
[ "${stuck:-0}" -ge 1 ] 2>/dev/null || fail "shardinit_workers{state=\"stuck\"} is '${stuck:-}' while /livez fails"
wait_for 120 "the kubelet to restart the container" \
	eval '[ "$(k get pod "$pod" -o jsonpath="{.status.containerStatuses[0].restartCount}")" -gt "$restarts0" ]'
t_restart=$(now)
wait_for 120 "pod $pod to be Ready again" pod_ready "$pod"
t_ready=$(now)
kill -INT $load
wait $load
restarts=$(k get pod "$pod" -o jsonpath='{.status.containerStatuses[0].restartCount}')
last=$(k get pod "$pod" -o jsonpath='{.status.containerStatuses[0].lastState.terminated.exitCode} {.status.containerStatuses[0].lastState.terminated.reason}')
events "$pod" Unhealthy Killing | sed -n '/iveness/s/^/  event: /p'
result "stuck: /livez 503 $(elapsed "$t0" "$t_livez")s after SIGSTOP, container restarted $(elapsed "$t0" "$t_restart")s after, Ready again $(elapsed "$t0" "$t_ready")s after; restart count $restarts0 -> $restarts (last exit: $last)"
python3 -c 'import json,sys; r = json.load(open(sys.argv[1])); print("RESULT stuck load: %d requests due, %d answered, errors %s (expected while the workers are stopped)" % (r["due"], r["done"], r["errors"]))' "$DIR/stuck-load.json"
[ "$restarts" -gt "$restarts0" ] || fail "no container restart"
[ "$(status_field 'r["ready"]')" = True ] || fail "the restarted container is not ready"

step "done: every check passed in $((SECONDS - T0))s"
