#!/usr/bin/env bash
# How long a full rolling restart (SIGHUP) takes, for N = 2, 8, 32 slots of
# examples/hello, with the default surge (1) and with surge N/4. hello sends
# READY=1 (listen.Serve), so a successor takes over once it says so, even
# under the default --ready-on start. Usage: bench/roll-time.sh (run
# `make build` first). Prints one line per case; RUNS rolls each. Each wait
# gives up after a minute, and the shardinit it started is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
fail() { echo "roll-time: $*" >&2; exit 1; }
. test/lib/wait.sh
pid=
trap '[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; wait' EXIT

rolled() { # every slot has a new worker and the roll is over
	curl -s "127.0.0.1:$1/status" | python3 -c 'import json,sys
r = json.load(sys.stdin); old = sys.argv[1].split()
sys.exit(r["rolling"] or any(str(s["pid"]) in old or s["pid"] == 0 for s in r["slots"]))' "$2"
}
pids() { curl -s "127.0.0.1:$1/status" | python3 -c 'import json,sys; print(" ".join(str(s["pid"]) for s in json.load(sys.stdin)["slots"]))'; }

printf 'machine: %s cores, kernel %s; %s rolls per case\n' "$(nproc)" "$(uname -r)" "$runs"
for n in 2 8 32; do
	for surge in $(printf "%s\n" 1 $((n / 4 > 1 ? n / 4 : 1)) | sort -un); do
		port=$((20000 + RANDOM % 20000))
		bin/shardinit --workers "$n" --restart-surge "$surge" --listen "http=127.0.0.1:$port" \
			--health-addr "127.0.0.1:$((port + 1))" --log-level warn -- bin/hello 2>/dev/null &
		pid=$!
		wait_for 60 "N=$n to be ready" curl -sf "127.0.0.1:$((port + 1))/readyz"
		times=()
		for _ in $(seq "$runs"); do
			before=$(pids $((port + 1)))
			start=$(date +%s.%N)
			kill -HUP $pid
			# A fine poll, since it is the measurement; a minute at most.
			deadline=$((SECONDS + 60))
			until rolled $((port + 1)) "$before"; do
				[ $SECONDS -lt $deadline ] || fail "the roll of N=$n did not end in 60s"
				sleep 0.02
			done
			times+=("$(echo "$(date +%s.%N) - $start" | bc)")
		done
		kill -TERM $pid
		wait $pid || true
		pid=
		sorted=$(printf '%s\n' "${times[@]}" | sort -n)
		printf 'N=%-3s surge=%-2s roll: median %.2fs (min %.2fs, max %.2fs)\n' "$n" "$surge" \
			"$(echo "$sorted" | sed -n "$(((runs + 1) / 2))p")" "$(echo "$sorted" | head -1)" "$(echo "$sorted" | tail -1)"
	done
done
