#!/usr/bin/env bash
# make e2e-examples: builds every server example's image (examples/*/
# Dockerfile) on a real Docker engine, FROM a Debian base debootstrapped
# here, and runs each as its users would: every worker answers, SIGHUP
# rolls them all, docker stop ends with exit code 0 inside the stop timeout.
#
# EXAMPLES picks some (default: all). Containers use the host network, so
# every request goes to 127.0.0.1; the examples' own port is replaced by a
# free one. Everything it starts is stopped by PID at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

. test/lib/need.sh
need dockerd:docker.io busybox:busybox-static curl:curl python3:python3 debootstrap:debootstrap bc:bc

examples=${EXAMPLES:-nginx gunicorn uvicorn node puma haproxy}
work=$(mktemp -d /tmp/shardinit-e2e-examples.XXXXXX)
. test/lib/docker.sh
. test/lib/ports.sh
. test/lib/status.sh

running=
cleanup() {
	set +e
	[ -n "$running" ] && $docker rm -f "$running" >/dev/null 2>&1
	docker_stop
	rm -rf "$work"
}
trap cleanup EXIT

step "start dockerd (data and exec roots in $work)"
docker_start

step "the shardinit image (builder: Go $(go env GOVERSION), busybox, CA certificates)"
docker_builder
docker_build shardinit shardinit:e2e

step "the Debian base (debootstrap --variant=minbase bookworm, from Debian's mirror)"
docker_debian

# answering asks 40 new connections which process answered; prints the
# sorted distinct PIDs on one line.
answering() {
	for _ in $(seq 40); do curl -s --max-time 5 "127.0.0.1:$http/" || echo "no-answer"; done |
		awk '{print $NF}' | sort -u | tr '\n' ' '
}

try_example() {
	local ex=$1 start=$SECONDS mounts=() before after answered code took
	step "examples/$ex: build FROM debian:bookworm-slim"
	$docker build -q --network host --build-arg SHARDINIT=shardinit:e2e -t "shardinit-$ex:e2e" "examples/$ex" >/dev/null ||
		fail "examples/$ex: the image did not build"
	echo "shardinit-$ex:e2e built in $((SECONDS - start))s, $($docker image inspect -f '{{.Size}}' "shardinit-$ex:e2e" | awk '{printf "%.0f MB", $1/1e6}')"

	read -r http health <<<"$(free_ports 2)"
	if [ "$ex" = nginx ]; then # nginx names its port in its configuration
		sed "s/listen 8080;/listen 127.0.0.1:$http;/" examples/nginx/nginx.conf >"$work/nginx.conf"
		mounts=(-v "$work/nginx.conf:/etc/nginx/nginx.conf:ro")
	fi
	running="e2e-$ex"
	$docker run -d --name "$running" --network host --read-only --tmpfs /tmp "${mounts[@]}" \
		-e SHARDINIT_LISTEN="http=127.0.0.1:$http" -e SHARDINIT_HEALTH_ADDR="127.0.0.1:$health" \
		-e SHARDINIT_WORKERS=2 -e SHARDINIT_DRAIN_DELAY=1s -e SHARDINIT_STOP_TIMEOUT=10s \
		"shardinit-$ex:e2e" >/dev/null
	wait_for 60 "examples/$ex: /readyz to answer 200" curl -sf "127.0.0.1:$health/readyz" ||
		{ $docker logs "$running" 2>&1 | tail -20; fail "examples/$ex: never ready"; }

	answered=$(answering)
	before=$(slot_pids)
	echo "40 connections answered by: $answered(slots' workers: $before)"
	case "$answered" in *no-answer*) fail "examples/$ex: a request went unanswered" ;; esac
	[ "$(wc -w <<<"$answered")" -eq 2 ] || fail "examples/$ex: want answers from 2 processes, got: $answered"

	$docker kill -s HUP "$running" >/dev/null
	wait_for 60 "examples/$ex: the workers to roll" rolled "$before" ||
		{ $docker logs "$running" 2>&1 | tail -20; fail "examples/$ex: the roll did not finish"; }
	after=$(answering)
	echo "after docker kill -s HUP: answered by $after(slots' workers: $(slot_pids))"
	case "$after" in *no-answer*) fail "examples/$ex: a request went unanswered after the roll" ;; esac
	[ "$(wc -w <<<"$after")" -eq 2 ] || fail "examples/$ex: want answers from 2 processes after the roll, got: $after"
	for p in $answered; do
		case " $after " in *" $p "*) fail "examples/$ex: process $p still answers after the roll" ;; esac
	done

	start=$(date +%s.%N)
	$docker stop -t 15 "$running" >/dev/null
	took=$(echo "$(date +%s.%N) - $start" | bc)
	code=$($docker inspect -f '{{.State.ExitCode}}' "$running")
	printf 'docker stop: exit code %s in %.2fs (drain-delay 1s, stop timeout 10s)\n' "$code" "$took"
	[ "$code" = 0 ] || { $docker logs "$running" 2>&1 | tail -20; fail "examples/$ex: exit code $code after docker stop"; }
	[ "$(echo "$took < 10" | bc)" = 1 ] || fail "examples/$ex: docker stop took ${took}s: a worker waited for SIGKILL"
	$docker rm "$running" >/dev/null
	running=
	echo "RESULT example=$ex workers=2 rolled=yes exit=$code stop_seconds=$(printf '%.2f' "$took")"
}

for ex in $examples; do
	[ -f "examples/$ex/Dockerfile" ] || fail "no example named $ex (examples/$ex/Dockerfile)"
	try_example "$ex"
done
printf '\nPASS e2e-examples (%s)\n' "$examples"
