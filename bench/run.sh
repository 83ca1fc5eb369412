#!/usr/bin/env bash
# shardinit's benchmark suite: `make bench` runs it. Installs the load
# generator and the runtimes it compares against (Debian packages) when they
# are missing, builds, runs every section on 127.0.0.1, writes
# bench/results.json and regenerates docs/benchmarks.md (tables, SVG charts).
#
# Settings (environment):
#   RUNS=5          runs of every case (median and min–max are reported)
#   DURATION=10s    each load run (whole seconds), after a WARMUP=1s run
#   SMOKE=1         1 run of 2 s, small N lists: checks the suite works
#   SECTIONS="zero-cost latency"   a subset of: zero-cost multi-core latency
#                   balance pid1 zero-loss gobench (they replace their own
#                   earlier results in bench/results.json; FRESH=1 drops all)
#   WORKERS=nproc   workers of the multi-worker cases
#   CONNS=64 THREADS=2   wrk's connections and threads
#   GO_ROUNDS=5000 NODE_ROUNDS=800 PY_ROUNDS=3000   SHA-256 rounds per request
#   LAT_LOAD=0.7 LAT_CONNS=32   constant rate, as a fraction of one process's
#   START_N="1 2 8 32 128" BAL_WORKERS="2 4" BAL_DURATION=DURATION/2
#   ORPHANS=10000   the orphan storm of the reap benchmark
#   BUILD=0         use the binaries in bin/ as they are (no `make build`)
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS

# What the suite runs, by command and the Debian package that has it.
missing=()
for pair in wrk:wrk tini:tini dumb-init:dumb-init node:nodejs gunicorn:gunicorn python3:python3; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
	echo "bench: installing ${missing[*]} (Debian packages)"
	if [ "$(id -u)" = 0 ]; then
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	else
		sudo -n apt-get update -qq && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
			{ echo "bench: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
	fi
fi

# `make bench` has built already (its prerequisite); alone, build here.
if [ "${BUILD:-1}" = 1 ] && [ -z "${MAKELEVEL:-}" ]; then
	make build
fi
mkdir -p bench/.bin
for prog in workers/cpu:cpu cmd/loadgen:loadgen cmd/runner:runner cmd/report:report; do
	CGO_ENABLED=0 go build -trimpath -o "bench/.bin/${prog#*:}" "./bench/${prog%%:*}"
done

status=0
bench/.bin/runner -root . || status=$?
if [ -f "${OUT:-bench/results.json}" ]; then
	bench/.bin/report -in "${OUT:-bench/results.json}" -out docs/benchmarks.md
	# The goals that were not reached, as the report says them.
	awk '/^\*\*Where the numbers do not reach the goals/{p=1} p&&/^## /{exit} p' docs/benchmarks.md
	grep -q '^Every goal measured was met' docs/benchmarks.md && echo "Every goal measured was met."
fi
echo "bench: done in $((SECONDS - t0)) s (runner exit $status); see docs/benchmarks.md"
exit "$status"
