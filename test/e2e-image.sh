#!/usr/bin/env bash
# make e2e-image: builds the image on a real Docker engine and runs it.
#
# The engine and the offline build are test/lib/docker.sh's. Containers use
# the host network, so every request goes to 127.0.0.1. Everything it starts
# is stopped by PID at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

. test/lib/need.sh
need dockerd:docker.io busybox:busybox-static curl:curl python3:python3 bc:bc

work=$(mktemp -d /tmp/shardinit-e2e-image.XXXXXX)
. test/lib/docker.sh
. test/lib/ports.sh
. test/lib/status.sh

cleanup() {
	set +e
	[ -n "$dockerd_pid" ] && $docker rm -f e2e-demo >/dev/null 2>&1
	docker_stop
	rm -rf "$work"
}
trap cleanup EXIT

step "start dockerd (data and exec roots in $work)"
docker_start

step "assemble the builder image (Go $(go env GOVERSION), busybox, CA certificates)"
docker_builder

step "build the images (legacy builder; the LD_PRELOAD shim is compiled here)"
docker_build shardinit shardinit:e2e
docker_build demo shardinit-demo:e2e
$docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep e2e

step "cross-compiled for arm64 from this machine, no emulation (the Dockerfile's TARGETARCH)"
docker_build shardinit shardinit:e2e-arm64 arm64
cid=$($docker create shardinit:e2e-arm64)
$docker cp "$cid:/shardinit" "$work/shardinit-arm64" && $docker rm "$cid" >/dev/null
machine=$(python3 -c 'import struct,sys; print(struct.unpack_from("<H", open(sys.argv[1], "rb").read(20), 18)[0])' "$work/shardinit-arm64")
echo "the arm64 image's /shardinit: ELF machine $machine (183 is aarch64)"
[ "$machine" = 183 ] || fail "the arm64 image's shardinit is ELF machine $machine, not aarch64 (183)"
go run ./internal/preload/checkshim shim/build-arm64/libshardinit_preload.so arm64
grep -qa 'will hand over' "$work/shardinit-arm64" || fail "the arm64 shardinit embeds no LD_PRELOAD shim"
echo "it embeds the arm64 shim"

step "the shardinit image's configuration"
config=$($docker image inspect shardinit:e2e --format '{{json .Config.Entrypoint}} {{.Config.User}} {{.Config.StopSignal}} {{index .Config.Labels "org.opencontainers.image.version"}} {{index .Config.Labels "org.opencontainers.image.revision"}} {{index .Config.Labels "org.opencontainers.image.licenses"}}')
echo "$config"
[ "$config" = "[\"/shardinit\",\"--\"] 65532:65532 SIGTERM $image_version $image_revision MIT" ] || fail "unexpected image config: $config"
# The output is read whole before grep looks at it: with pipefail, grep -q
# quitting at its first match would fail the pipeline with the writer's SIGPIPE.
check=$($docker run --rm --network host --entrypoint /shardinit shardinit:e2e check --preload -- server)
grep -q '^preload: true' <<<"$check" || fail "the image's shardinit has no LD_PRELOAD shim"
echo "the image's shardinit embeds the LD_PRELOAD shim (check --preload passes)"
out=$($docker run --rm --network host shardinit:e2e 2>&1) && fail "shardinit without a command exited 0"
echo "without a command: $out"
case "$out" in *"no command to run"*) ;; *) fail "no clear error without a command" ;; esac

step "run the demo"
ports=$(free_ports 2)
read -r http health <<<"$ports"
$docker run -d --name e2e-demo --network host \
	-e SHARDINIT_LISTEN="http=127.0.0.1:$http" -e SHARDINIT_HEALTH_ADDR="127.0.0.1:$health" \
	-e SHARDINIT_WORKERS=2 -e SHARDINIT_DRAIN_DELAY=1s -e SHARDINIT_STOP_TIMEOUT=5s \
	shardinit-demo:e2e >/dev/null
wait_for 30 "/readyz to answer 200 from the host" curl -sf "127.0.0.1:$health/readyz"
echo "/readyz from the host: $(curl -s "127.0.0.1:$health/readyz")"

pid=$($docker inspect -f '{{.State.Pid}}' e2e-demo)
nspid=$(awk '/^NSpid:/ {print $NF}' "/proc/$pid/status")
uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
echo "shardinit: pid $nspid in the container, uid $uid, command $(tr '\0' ' ' <"/proc/$pid/cmdline")"
[ "$nspid" = 1 ] || fail "shardinit is pid $nspid in its container, not 1"
[ "$uid" = 65532 ] || fail "shardinit runs as uid $uid, not 65532"
workers=$(for _ in $(seq 60); do curl -s "127.0.0.1:$http/"; done | awk '{print $NF}' | sort -u | wc -l)
echo "60 requests answered by $workers worker PIDs"
[ "$workers" -eq 2 ] || fail "want answers from 2 workers, got $workers"

step "docker kill -s HUP: the workers roll, slot by slot"
before=$(slot_pids)
$docker kill -s HUP e2e-demo >/dev/null
wait_for 30 "the workers to roll" rolled "$before"
echo "worker PIDs in the container: $before -> $(slot_pids)"
code=$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$health/readyz")
[ "$code" = 200 ] || fail "/readyz $code after the roll"

step "docker stop: drain, then stop the workers, exit 0"
start=$(date +%s.%N)
$docker stop -t 10 e2e-demo >/dev/null
took=$(echo "$(date +%s.%N) - $start" | bc)
code=$($docker inspect -f '{{.State.ExitCode}}' e2e-demo)
printf 'stopped in %.2fs (drain-delay 1s, stop timeout 10s), exit code %s\n' "$took" "$code"
logs=$($docker logs e2e-demo 2>&1)
grep -E 'draining|stopping workers|worker stopped|exiting' <<<"$logs" | sed 's/^/  /'
[ "$code" = 0 ] || fail "exit code $code after docker stop"
[ "$(echo "$took < 10" | bc)" = 1 ] || fail "docker stop took ${took}s: the stop timeout was reached"
grep -q 'msg=draining' <<<"$logs" || fail "no drain in the log"

printf '\nPASS e2e-image\n'
