#!/usr/bin/env bash
# Tests of libshardinit_preload.so, without shardinit: `make -C shim test`.
#
#  1. build/test_shim (C) with LD_PRELOAD, under AddressSanitizer+UBSan
#     (build/test_shim_asan, the shim compiled in) and under valgrind.
#  2. Real programs started as shardinit starts a worker (handover.py):
#     python3 -m http.server and node must serve on the inherited socket
#     itself — same inode, one LISTEN socket on the port, shardinit's
#     backlog — and everything else must work as without the shim.
#
# Traffic goes to 127.0.0.1 only; every wait is bounded; every process
# started here is stopped by its PID. Exit status 0 when everything
# passed (skips included), 1 otherwise.
set -u
cd "$(dirname "$0")"

LIB=$PWD/build/libshardinit_preload.so
OUT=$PWD/build/test-out
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true) # not a pyenv wrapper
NODE=$(command -v node || true)
[ -n "$NODE" ] || { [ -x /usr/bin/node ] && NODE=/usr/bin/node; }

# Every C test run is bounded too (its workers also have an alarm()).
TIMEOUT=
command -v timeout >/dev/null && TIMEOUT="timeout -k 5 600"

pass=0 fail=0 skipped=0
ok() { echo "ok   - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }
skip() { echo "skip - $*"; skipped=$((skipped + 1)); }
check() { # check "description" 'shell condition' (evaluated here)
	if eval "$2"; then ok "$1"; else bad "$1"; fi
}

PIDS=()
# Stops what this script started, by PID, and waits for it (bounded).
stop_all() {
	local p i
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	PIDS=()
}
trap stop_all EXIT

rm -rf "$OUT"
mkdir -p "$OUT"
[ -f "$LIB" ] || { echo "FAIL - $LIB missing: run make -C shim first"; exit 1; }

# ---- 1. the C test program ---------------------------------------------------

indent() { sed 's/^/    /'; }

echo "# test_shim with LD_PRELOAD=build/libshardinit_preload.so"
mkdir -p "$OUT/plain"
LD_PRELOAD=$LIB $TIMEOUT build/test_shim driver "$OUT/plain" >"$OUT/plain.log" 2>&1
rc=$?
indent <"$OUT/plain.log"
check "test_shim with the preloaded library (exit $rc)" '[ "$rc" = 0 ]'

echo "# test_shim_asan: the shim compiled in, -fsanitize=address,undefined"
if [ -x build/test_shim_asan ]; then
	mkdir -p "$OUT/asan"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23 UBSAN_OPTIONS=print_stacktrace=1 \
		$TIMEOUT build/test_shim_asan driver "$OUT/asan" >"$OUT/asan.log" 2>&1
	rc=$?
	indent <"$OUT/asan.log"
	reports=$(grep -cE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$OUT/asan.log")
	echo "    AddressSanitizer/LeakSanitizer/UBSan reports: $reports"
	check "test_shim under AddressSanitizer+UBSan (exit $rc, $reports reports)" '[ "$rc" = 0 ] && [ "$reports" = 0 ]'
else
	skip "no ASan build (this compiler has no sanitizer runtime?): $(tail -n 1 build/asan-build.log 2>/dev/null)"
fi

echo "# test_shim under valgrind (memcheck), LD_PRELOAD of the normal build"
if command -v valgrind >/dev/null; then
	mkdir -p "$OUT/valgrind"
	LD_PRELOAD=$LIB $TIMEOUT valgrind --trace-children=yes --child-silent-after-fork=yes \
		--error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
		--log-file="$OUT/valgrind/vg.%p.log" build/test_shim driver "$OUT/valgrind" >"$OUT/valgrind.log" 2>&1
	rc=$?
	indent <"$OUT/valgrind.log"
	# One log per process: the driver and each worker it ran.
	# (The workers print a few more debug lines than without valgrind: its
	# launcher, exec'd under the same pid with LD_PRELOAD, loads the shim too.)
	grep -hE "ERROR SUMMARY|All heap blocks|definitely lost" "$OUT"/valgrind/vg.*.log |
		sed 's/^==[0-9]*== /valgrind: /' | sort | uniq -c | indent
	errors=$(grep -h "ERROR SUMMARY" "$OUT"/valgrind/vg.*.log | grep -vc "ERROR SUMMARY: 0 errors")
	procs=$(grep -l "ERROR SUMMARY" "$OUT"/valgrind/vg.*.log | wc -l)
	check "test_shim under valgrind: $procs processes, $errors with errors (exit $rc)" \
		'[ "$rc" = 0 ] && [ "$errors" = 0 ] && [ "$procs" -ge 5 ]'
else
	skip "valgrind is not installed"
fi

# ---- 2. real programs --------------------------------------------------------

if [ -z "$PY" ] || ! command -v curl >/dev/null; then
	skip "python3 or curl missing: no tests with real programs"
	echo "# $pass passed, $fail failed, $skipped skipped"
	[ "$fail" = 0 ]
	exit
fi

# N free TCP ports on 127.0.0.1 (and ::), as the kernel picks them.
free_ports() {
	"$PY" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    try:
        s = socket.socket(socket.AF_INET6)  # free on IPv4 and IPv6 alike
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", 0))
    except OSError:  # no IPv6 here
        s = socket.socket(socket.AF_INET)
        s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# Inodes of the LISTEN (0A) TCP sockets on port $1, IPv4 and IPv6.
listen_inodes() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { print $10 }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u
}

# How many of process $1's fds are the socket with inode $2.
fds_on_socket() {
	local n=0 f
	for f in /proc/"$1"/fd/*; do
		[ "$(readlink "$f" 2>/dev/null)" = "socket:[$2]" ] && n=$((n + 1))
	done
	echo "$n"
}

# Send-Q of a listening socket is its backlog (ss -ltn).
backlog_of() {
	command -v ss >/dev/null || { echo "?"; return; }
	ss -Hltn "sport = :$1" 2>/dev/null | awk 'NR == 1 { print $3 }'
}

# curl http://127.0.0.1:$1/ until it answers, at most ~10 s.
wait_http() {
	local i
	for i in $(seq 100); do
		curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/" && return 0
		sleep 0.1
	done
	return 1
}

# Waits at most ~10 s for helper $1 (started with --info $2) to exit, then
# stops it and its child; the exit status is left in $rc.
wait_exit() {
	local i h c
	for i in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$1" 2>/dev/null; then
		echo "    pid $1 still running after 10 s: stopping it"
		read -r h c _ <"$2" 2>/dev/null && PIDS+=("$c")
		stop_all
	fi
	wait "$1"
	rc=$?
	PIDS=()
}

# Reads "HELPER CHILD INODE" from $1, at most ~5 s.
read_info() {
	local i
	for i in $(seq 50); do
		[ -s "$1" ] && { read -r HELPER CHILD INODE <"$1"; return 0; }
		sleep 0.1
	done
	return 1
}

# handover_test NAME PORT FAMILY MEMFD CMD... : the full set of checks.
handover_test() {
	local name=$1 port=$2 family=$3 memfd=$4
	shift 4
	local info=$OUT/$name.info err=$OUT/$name.stderr inodes count mine bl body
	"$PY" handover.py $memfd --family "$family" --info "$info" "$LIB" "$port" -- "$@" \
		>"$OUT/$name.stdout" 2>"$err" &
	PIDS+=($!)
	if ! read_info "$info"; then
		bad "$name: the helper did not start"
		stop_all
		return
	fi
	PIDS+=("$CHILD")
	if wait_http "$port"; then
		body=$(curl -s --max-time 3 "http://127.0.0.1:$port/" | head -c 40 | tr -d '\n')
		ok "$name: answers on 127.0.0.1:$port (\"${body:0:20}\")"
	else
		bad "$name: no answer on 127.0.0.1:$port"
		indent <"$err"
		stop_all
		return
	fi
	inodes=$(listen_inodes "$port")
	count=$(echo "$inodes" | grep -c .)
	check "$name: exactly one LISTEN socket on port $port, the inherited one (found: $(echo $inodes); inherited: $INODE)" \
		'[ "$count" = 1 ] && [ "$inodes" = "$INODE" ]'
	mine=$(fds_on_socket "$CHILD" "$INODE")
	check "$name: the program's own fd is that socket ($mine fds of pid $CHILD on socket:[$INODE]: fd 3 and the program's)" \
		'[ "$mine" -ge 2 ]'
	bl=$(backlog_of "$port")
	if [ "$bl" = "?" ]; then
		skip "$name: backlog (no ss)"
	else
		check "$name: backlog still shardinit's 77 (ss Send-Q: $bl)" '[ "$bl" = 77 ]'
	fi
	stop_all
	check "$name: nothing from the shim on stderr (SHARDINIT_SHIM_DEBUG unset)" \
		'! grep -q shardinit-shim "$err"'
}

read -r P1 P2 P3 P4 P5 P6 <<<"$(free_ports 6)"

echo "# python3 -m http.server (${PY})"
handover_test python-127 "$P1" 4 --memfd "$PY" -m http.server "$P1" --bind 127.0.0.1
if "$PY" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	handover_test python-dualstack "$P2" dual "" "$PY" -m http.server "$P2"
else
	skip "python-dualstack: no IPv6 on this machine"
fi

echo "# node"
if [ -n "$NODE" ]; then
	handover_test node-127 "$P3" 4 "" "$NODE" -e \
		"require('http').createServer((q,s)=>s.end('ok from node')).listen($P3,'127.0.0.1')"
else
	skip "node is not installed (looked for it on PATH and at /usr/bin/node)"
fi

echo "# pass-through: the shim active (a shard on $P1), the program binds elsewhere"
"$PY" handover.py --info "$OUT/other.info" "$LIB" "$P1" -- \
	"$PY" -m http.server "$P4" --bind 127.0.0.1 >/dev/null 2>"$OUT/other.stderr" &
PIDS+=($!)
if read_info "$OUT/other.info" && PIDS+=("$CHILD") && wait_http "$P4"; then
	ok "an unrelated port ($P4) is bound by python itself and answers"
	inodes=$(listen_inodes "$P4")
	bl=$(backlog_of "$P4")
	check "its socket is python's own, not the shard (inode $(echo $inodes) vs $INODE), with python's backlog 5 ($bl)" \
		'[ -n "$inodes" ] && [ "$inodes" != "$INODE" ] && { [ "$bl" = 5 ] || [ "$bl" = "?" ]; }'
else
	bad "an unrelated port ($P4): no answer"
	indent <"$OUT/other.stderr"
fi
stop_all

# UDP on the shard's port number, unix sockets, a client bound to port 0.
cat >"$OUT/sockets.py" <<'EOF'
import os, socket, sys, tempfile
port = int(sys.argv[1])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", port))
u.sendto(b"udp", ("127.0.0.1", port))
assert u.recv(16) == b"udp"
assert u.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) == socket.SOCK_DGRAM
d = tempfile.mkdtemp()
path = os.path.join(d, "s")
for addr in (path, "\0shardinit-shim-test-%d" % os.getpid()):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(addr)
    srv.listen(1)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(addr)
    a, _ = srv.accept()
    c.sendall(b"unix")
    assert a.recv(16) == b"unix"
    for s in (a, c, srv):
        s.close()
os.unlink(path)
os.rmdir(d)
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.bind(("127.0.0.1", 0))
c.connect(("127.0.0.1", port))  # the shard's backlog takes it
assert c.getsockname()[1] != port
print("sockets ok")
EOF
"$PY" handover.py --info "$OUT/sockets.info" "$LIB" "$P5" -- "$PY" "$OUT/sockets.py" "$P5" \
	>"$OUT/sockets.stdout" 2>"$OUT/sockets.stderr" &
PIDS+=($!)
wait_exit $! "$OUT/sockets.info"
check "UDP on the shard's port, unix sockets (path and abstract), a client bound to port 0 (exit $rc: $(cat "$OUT/sockets.stdout"))" \
	'[ "$rc" = 0 ] && grep -q "sockets ok" "$OUT/sockets.stdout"'
[ "$rc" = 0 ] || indent <"$OUT/sockets.stderr"

echo "# SHARDINIT_SHIM_REUSEPORT (no LISTEN_FDS): two servers on one port"
# $1: value of SHARDINIT_SHIM_REUSEPORT ("" = unset). Starts two python
# servers on 127.0.0.1:$P6; prints how many LISTEN sockets the port has and
# whether the second one failed with EADDRINUSE.
two_servers() {
	local i second env=()
	[ -n "$1" ] && env=(SHARDINIT_SHIM_REUSEPORT="$1")
	for i in 1 2; do
		env "${env[@]}" LD_PRELOAD="$LIB" "$PY" -m http.server "$P6" --bind 127.0.0.1 \
			>/dev/null 2>"$OUT/reuse$i.stderr" &
		second=$!
		PIDS+=("$second")
		[ "$i" = 1 ] && { wait_http "$P6" || true; }
	done
	# The second either fails at once (and has exited, its stderr complete)
	# or listens beside the first: wait for one of the two, at most ~10 s.
	for i in $(seq 100); do
		kill -0 "$second" 2>/dev/null || break
		[ "$(listen_inodes "$P6" | grep -c .)" = 2 ] && break
		sleep 0.1
	done
	echo "$(listen_inodes "$P6" | grep -c .) $(grep -c 'Address already in use' "$OUT/reuse2.stderr")"
	stop_all
}
read -r n inuse <<<"$(two_servers ":$P6")"
check "SHARDINIT_SHIM_REUSEPORT=:$P6: both servers listen ($n LISTEN sockets on $P6)" '[ "$n" = 2 ] && [ "$inuse" = 0 ]'
check "SHARDINIT_SHIM_REUSEPORT=:$P6: nothing from the shim on stderr" \
	'! cat "$OUT"/reuse*.stderr | grep -q shardinit-shim'
read -r n inuse <<<"$(two_servers "")"
check "without it: the second server fails with EADDRINUSE ($n LISTEN socket, $inuse 'Address already in use')" \
	'[ "$n" = 1 ] && [ "$inuse" = 1 ]'

echo "# stderr: silent without SHARDINIT_SHIM_DEBUG, one prefixed line per event with it"
cat >"$OUT/quiet.py" <<'EOF'
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))  # handed over
s.listen(5)
t = socket.socket()
t.bind(("127.0.0.1", int(sys.argv[2])))  # filters: setsockopt fails (no such device)
EOF
run_quiet() { # $1: SHARDINIT_SHIM_DEBUG value ("" = unset); stderr into $2
	local dbg=(-u SHARDINIT_SHIM_DEBUG)
	[ -n "$1" ] && dbg=(SHARDINIT_SHIM_DEBUG="$1")
	env "${dbg[@]}" SHARDINIT_SHIM_REUSEPORT="bogus,[::1:80,:0,:$P1" SHARDINIT_SHIM_BINDTODEVICE=nosuchdev0 \
		"$PY" handover.py --info "$OUT/quiet$1.info" "$LIB" "$P2" -- \
		"$PY" "$OUT/quiet.py" "$P2" "$P3" >/dev/null 2>"$2" &
	PIDS+=($!)
	wait_exit $! "$OUT/quiet$1.info"
	qrc=$rc
}
run_quiet "" "$OUT/quiet.stderr"
check "SHARDINIT_SHIM_DEBUG unset, with 3 bad filter entries, a failing SO_BINDTODEVICE and a hand-over: stderr is empty ($(wc -c <"$OUT/quiet.stderr") bytes)" \
	'[ "$qrc" = 0 ] && [ ! -s "$OUT/quiet.stderr" ]'
run_quiet 1 "$OUT/debug.stderr"
indent <"$OUT/debug.stderr"
check "SHARDINIT_SHIM_DEBUG=1: $(wc -l <"$OUT/debug.stderr") lines, all prefixed 'shardinit-shim: '" \
	'[ "$qrc" = 0 ] && [ -s "$OUT/debug.stderr" ] && ! grep -qv "^shardinit-shim: " "$OUT/debug.stderr"'

echo "# $pass passed, $fail failed, $skipped skipped"
[ "$fail" = 0 ]
