package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shardinit/shardinit/internal/preload"
)

// needServer finds a server from Debian that a test runs under shardinit.
// CI installs every one (.ci/run), so there a missing one fails the test
// instead of skipping it.
func needServer(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed, and CI installs it", path)
		}
		t.Skipf("%s is not installed (apt-get install nginx-light gunicorn python3-uvicorn python3-aiohttp node-express puma)", path)
	}
}

// server is one server from Debian, run under shardinit as its users
// would: how it takes its socket, its graceful stop signal, its readiness.
type server struct {
	name  string
	path  string
	flags []string
	// command is the worker's command line, given the test's directory
	// and port.
	command func(dir string, port int) []string
	files   map[string]string
}

var realServers = []server{{
	name: "nginx", path: "/usr/sbin/nginx",
	// nginx binds the port itself; QUIT is its graceful stop (TERM is
	// fast). Each process writes its own pid file, or a slot's successor
	// would take its predecessor's.
	// Its workers are seen accepting (epoll), not its master.
	flags: []string{"--preload", "--stop-signal", "QUIT"},
	command: func(dir string, port int) []string {
		return []string{"/bin/sh", "-c", `exec /usr/sbin/nginx -p "$0" -c nginx.conf -g "pid $0/nginx-$$.pid;"`, dir}
	},
	files: map[string]string{"nginx.conf": `daemon off;
worker_processes 1;
error_log stderr warn;
events { worker_connections 512; }
http {
	access_log off;
	client_body_temp_path tmp; proxy_temp_path tmp; fastcgi_temp_path tmp; uwsgi_temp_path tmp; scgi_temp_path tmp;
	server { listen 127.0.0.1:PORT; location / { return 200 "ok\n"; } }
}
`},
}, {
	name: "gunicorn", path: "/usr/bin/gunicorn",
	// gunicorn takes LISTEN_FDS; its master's READY=1 comes before its
	// worker accepts, which is seen (select).
	command: func(dir string, _ int) []string {
		return []string{"/usr/bin/gunicorn", "--workers", "1", "--chdir", dir, "app:wsgi"}
	},
	files: map[string]string{"app.py": appPy},
}, {
	name: "uvicorn", path: "/usr/lib/python3/dist-packages/uvicorn",
	// uvicorn serves fd 3 and sends no READY=1: it is seen accepting.
	command: func(dir string, _ int) []string {
		return []string{"/usr/bin/python3", "-m", "uvicorn", "--fd", "3", "--app-dir", dir, "--lifespan", "off",
			"--log-level", "warning", "app:asgi"}
	},
	files: map[string]string{"app.py": appPy},
}}

const appPy = `def wsgi(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]


async def asgi(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok\n"})
`

// Servers we did not write roll as the go-systemd one does: ten rolls of
// four workers under load, and no request on a new connection fails.
func TestRollRealServers(t *testing.T) {
	t.Parallel()
	for _, srv := range realServers {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			needServer(t, srv.path)
			if srv.name == "nginx" && preload.Library() == nil {
				t.Skip("built without the LD_PRELOAD shim: run make test (it compiles shim/ and tests with -tags shim)")
			}
			rollRealServer(t, srv)
		})
	}
}

func rollRealServer(t *testing.T, srv server) {
	in, port, p := startRealServer(t, srv, 4)
	tr := startTraffic(t, p, port, 4)
	took := rollTimes(t, in, p, 10, 60*time.Second)
	tr.stopNewConnections(t, fmt.Sprintf("during 10 rolls of 4 %s workers (%s)", srv.name, took))
	// A worker may count as ready (READY=1, or accepting) before it has
	// installed its SIGTERM handler: stop only once every worker has.
	waitCatchTERM(t, p)
	in.stopCleanly()
}

// startRealServer runs workers of srv under shardinit with flags, in a
// directory of its files, and waits until it serves.
func startRealServer(t *testing.T, srv server, workers int, flags ...string) (*instance, int, probe) {
	t.Helper()
	dir, port, p := t.TempDir(), freePort(t), newProbe(t)
	os.Mkdir(filepath.Join(dir, "tmp"), 0o755)
	for name, text := range srv.files {
		text = strings.ReplaceAll(text, "PORT", fmt.Sprint(port))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := append([]string{"--workers", strconv.Itoa(workers), "--listen", listenArg("http", port)}, p.flag()...)
	args = append(append(append(append(args, srv.flags...), flags...), "--"), srv.command(dir, port)...)
	in := startShardinit(t, start{prepare: func(cmd *exec.Cmd) { cmd.Dir = dir }}, args...)
	p.waitCode("/readyz", http.StatusOK)
	waitServing(t, in, port)
	return in, port, p
}

// waitCatchTERM waits until every slot's worker catches SIGTERM: the SigCgt
// mask in /proc/PID/status has it.
func waitCatchTERM(t *testing.T, p probe) {
	t.Helper()
	eventually(t, 30*time.Second, "every worker to catch SIGTERM", func() bool {
		for _, sl := range p.status().Slots {
			mask, err := strconv.ParseUint(procField(sl.PID, "SigCgt"), 16, 64)
			if sl.PID == 0 || err != nil || mask&(1<<(syscall.SIGTERM-1)) == 0 {
				return false
			}
		}
		return true
	})
}
