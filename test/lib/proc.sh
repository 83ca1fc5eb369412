# Sourced by the test scripts that stop, by PID, processes they started.
# The caller defines log MESSAGE.

# alive PID: the process exists and is not a zombie.
alive() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[ "$st" != "Z" ] && [ "$st" != "X" ]
}

# stop_pid NAME PID: TERM, wait up to 20 s, then KILL; only if PID still runs
# NAME (the PID may have been reused since).
stop_pid() {
	local name=$1 pid=$2 exe
	if ! alive "$pid"; then log "$name (pid $pid) already gone"; return 0; fi
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
	case "$exe" in
		*/"$name"|*/"$name"" (deleted)"|*/"$name".tmp*) ;;
		*) log "pid $pid is not $name (it is '${exe:-?}'): leaving it alone"; return 0 ;;
	esac
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 200); do
		alive "$pid" || { log "stopped $name (pid $pid)"; return 0; }
		sleep 0.1
	done
	log "$name (pid $pid) did not exit after TERM, killing"
	kill -KILL "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do alive "$pid" || return 0; sleep 0.1; done
	log "WARNING: $name (pid $pid) still there"
	return 1
}
