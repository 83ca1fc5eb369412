# Sourced by the test scripts. The caller defines fail MESSAGE.

# wait_for SECONDS WHAT COMMAND...: run COMMAND every 0.2 s until it
# succeeds; fail if SECONDS pass first.
wait_for() {
	local secs=$1 what=$2 deadline=$((SECONDS + $1))
	shift 2
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${secs}s waiting for $what"
		sleep 0.2
	done
}
