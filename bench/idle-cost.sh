#!/usr/bin/env bash
# Measures shardinit's own cost at idle: 4 workers (examples/hello), the
# health server on, nobody asking. Prints RSS, CPU and wakeups over a window.
# Usage: bench/idle-cost.sh [SECONDS]   (run `make build` first)
set -euo pipefail
cd "$(dirname "$0")/.."
window=${1:-30}
port=$((20000 + RANDOM % 20000))
bin/shardinit --workers 4 --listen "http=127.0.0.1:$port" --health-addr "127.0.0.1:$((port + 1))" \
	--log-level warn -- bin/hello &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "127.0.0.1:$((port + 1))/readyz" >/dev/null && break; sleep 0.1; done
# one scrape and one status, as a kubelet and Prometheus would, then idle
curl -sf "127.0.0.1:$((port + 1))/metrics" >/dev/null
curl -sf "127.0.0.1:$((port + 1))/status" >/dev/null
sleep 2

cpu_ns() { cat /proc/$pid/task/*/schedstat | awk '{s += $1} END {print s}'; }
switches() { cat /proc/$pid/task/*/status | awk '/^(non)?voluntary_ctxt_switches/ {s += $2} END {print s}'; }
t0=$(cpu_ns); s0=$(switches)
sleep "$window"
t1=$(cpu_ns); s1=$(switches)
rss=$(awk '/^Rss:/ {print $2}' "/proc/$pid/smaps_rollup")
anon=$(awk '/^Pss_Anon:/ {print $2}' "/proc/$pid/smaps_rollup")
file=$(awk '/^Pss_File:/ {print $2}' "/proc/$pid/smaps_rollup")
printf 'machine: %s cores, kernel %s\n' "$(nproc)" "$(uname -r)"
printf 'idle window: %ss, 4 workers, health server on\n' "$window"
printf 'RSS: %.1f MiB (private heap and stacks %.1f MiB, pages of the binary %.1f MiB)\n' \
	"$(echo "$rss / 1024" | bc -l)" "$(echo "$anon / 1024" | bc -l)" "$(echo "$file / 1024" | bc -l)"
printf 'CPU: %.4f%% of one core (%.1f ms in %ss)\n' "$(echo "($t1 - $t0) / 10000000 / $window" | bc -l)" \
	"$(echo "($t1 - $t0) / 1000000" | bc -l)" "$window"
printf 'wakeups: %.2f per second (context switches of all threads)\n' "$(echo "($s1 - $s0) / $window" | bc -l)"
