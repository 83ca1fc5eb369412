# Sourced by the test scripts that need TCP ports on 127.0.0.1.

# free_ports N prints N distinct TCP ports on 127.0.0.1 that were free a
# moment ago. All N are bound at once, so none is handed out twice.
free_ports() {
	python3 - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}
