# Sourced by the image tests: a running shardinit's /status on
# 127.0.0.1:$health, as the tests read it.

# slot_pids prints the slots' worker PIDs on one line.
slot_pids() {
	curl -s "127.0.0.1:$health/status" | python3 -c 'import json,sys; print(" ".join(str(s["pid"]) for s in json.load(sys.stdin)["slots"]))'
}

# rolled OLD: every slot has a worker that is not among the PIDs OLD, and
# the roll is over.
rolled() {
	curl -s "127.0.0.1:$health/status" | python3 -c 'import json,sys
r = json.load(sys.stdin); old = sys.argv[1].split()
sys.exit(r["rolling"] or any(str(s["pid"]) in old or s["pid"] == 0 for s in r["slots"]))' "$1"
}
