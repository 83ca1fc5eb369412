package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// slowServers take 2 s to import their app before they accept, and write
// "PID PPID TIME" to serving.log once they are about to (slowApps). Each
// says READY=1, or is running, long before that.
var slowServers = []server{{
	name: "gunicorn", path: "/usr/bin/gunicorn", // sync worker: select; READY=1 from its master at once
	command: func(dir string, _ int) []string {
		return []string{"/usr/bin/gunicorn", "--workers", "1", "--chdir", dir, "slow:wsgi"}
	},
}, {
	name: "uvicorn", path: "/usr/lib/python3/dist-packages/uvicorn", // asyncio: epoll
	command: func(dir string, _ int) []string {
		return []string{"/usr/bin/python3", "-m", "uvicorn", "--fd", "3", "--app-dir", dir, "--lifespan", "off",
			"--log-level", "warning", "slow:asgi"}
	},
}, {
	name: "aiohttp", path: "/usr/lib/python3/dist-packages/aiohttp",
	command: func(dir string, _ int) []string { return []string{"/usr/bin/python3", filepath.Join(dir, "aio.py")} },
}, {
	name: "express", path: "/usr/share/nodejs/express", // node: epoll
	flags:   []string{"--success-exit-codes", "143"}, // it dies of SIGTERM
	command: func(dir string, _ int) []string { return []string{"/usr/bin/node", filepath.Join(dir, "express.js")} },
}, {
	name: "puma", path: "/usr/bin/puma", // Ruby's IO.select: select
	// puma's sd_notify cannot reach an abstract NOTIFY_SOCKET; it ends
	// its graceful stop by dying of SIGTERM. It accepts only while one of
	// its threads is free, and a thread keeps a keep-alive connection for
	// as long as requests follow at once: with 4 threads, the load's 4
	// keep-alive clients hashed onto one worker stop its accepting, roll
	// or none (puma 5.6, Server#handle_servers). 8 threads leave one free.
	flags: []string{"--notify-dir", "NOTIFY_DIR", "--success-exit-codes", "143"},
	command: func(dir string, _ int) []string {
		return []string{"/usr/bin/puma", "--bind-to-activated-sockets", "only", "-t", "1:8", "--quiet", filepath.Join(dir, "config.ru")}
	},
}}

var slowApps = map[string]string{
	"slow.py": `import os, time
time.sleep(float(os.environ["IMPORT_SECONDS"]))  # a slow import
with open(os.path.join(os.path.dirname(__file__), "serving.log"), "a") as f:
    f.write("%d %d %.6f\n" % (os.getpid(), os.getppid(), time.time()))


def wsgi(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]


async def asgi(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok\n"})
`,
	"aio.py": `import os, socket, sys
from aiohttp import web
sys.path.insert(0, os.path.dirname(__file__))
import slow  # noqa: F401


async def hello(request):
    return web.Response(text="ok\n")

app = web.Application()
app.router.add_get("/", hello)
web.run_app(app, sock=socket.socket(fileno=3), print=None, access_log=None)
`,
	"express.js": `const fs = require('fs');
const path = require('path');
const express = require('express');
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000 * Number(process.env.IMPORT_SECONDS));
fs.appendFileSync(path.join(__dirname, 'serving.log'), process.pid + ' ' + process.ppid + ' ' + (Date.now() / 1000).toFixed(6) + '\n');
const app = express();
app.get('/', (req, res) => res.type('text').send('ok\n'));
app.listen({ fd: 3 });
`,
	"config.ru": `sleep Float(ENV.fetch("IMPORT_SECONDS"))
File.open(File.join(__dir__, "serving.log"), "a") { |f| f.printf("%d %d %.6f\n", Process.pid, Process.ppid, Time.now.to_f) }
run ->(env) { [200, {"Content-Type" => "text/plain"}, ["ok\n"]] }
`,
}

// With the default --ready-on accept, a worker counts as ready, and a
// roll's successor takes over, only once it is seen waiting for
// connections: after its slow import, whatever it said or did before. No
// request on a new connection fails, and none waits for an import.
func TestReadyOnAcceptSlowServers(t *testing.T) {
	t.Parallel()
	for _, srv := range slowServers {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			needServer(t, srv.path)
			rollSlowServer(t, srv)
		})
	}
}

func rollSlowServer(t *testing.T, srv server) {
	dir, port, p := t.TempDir(), freePort(t), newProbe(t)
	for name, text := range slowApps {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(dir, "notify"), 0o755)
	args := append([]string{"--workers", "2", "--listen", listenArg("http", port)}, p.flag()...)
	for _, f := range srv.flags {
		args = append(args, strings.ReplaceAll(f, "NOTIFY_DIR", filepath.Join(dir, "notify")))
	}
	args = append(append(args, "--"), srv.command(dir, port)...)
	in := startShardinit(t, start{prepare: func(cmd *exec.Cmd) {
		cmd.Dir = dir
		cmd.Env = append(cmd.Environ(), "IMPORT_SECONDS=2", "NODE_PATH=/usr/share/nodejs")
	}}, args...)
	p.waitCode("/readyz", http.StatusOK)
	waitServing(t, in, port)
	tr := startTraffic(t, p, port, 4)
	took := rollTimes(t, in, p, 1, 60*time.Second)
	tr.stopNewConnections(t, fmt.Sprintf("during a roll of 2 %s workers with a 2 s import (%s)", srv.name, took))
	waitCatchTERM(t, p)
	in.stopCleanly()
	checkSeenAfterImport(t, in.log.String(), filepath.Join(dir, "serving.log"))
}

// shardinitEvent is a log line of shardinit's about worker pid.
var shardinitEvent = regexp.MustCompile(`time=(\S+) level=INFO msg="(worker accepting|worker replaced[^"]*)" slot=\d+ pid=(\d+)`)

// checkSeenAfterImport checks that every worker was seen accepting, and
// every successor took over, only after the worker (or a child of it) had
// imported its app. shardinit's log has milliseconds, cut: a millisecond
// of slack.
func checkSeenAfterImport(t *testing.T, log, servingLog string) {
	t.Helper()
	b, err := os.ReadFile(servingLog)
	if err != nil {
		t.Fatal(err)
	}
	serving := map[int]time.Time{} // by the worker's PID: its own, or its parent's
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var pid, ppid int
		var at float64
		if _, err := fmt.Sscanf(line, "%d %d %f", &pid, &ppid, &at); err != nil {
			t.Fatalf("serving.log: %q: %v", line, err)
		}
		when := time.UnixMicro(int64(at * 1e6))
		for _, id := range []int{pid, ppid} {
			if was, ok := serving[id]; !ok || when.Before(was) {
				serving[id] = when
			}
		}
	}
	events := shardinitEvent.FindAllStringSubmatch(log, -1)
	seen, replaced := 0, 0
	for _, ev := range events {
		at, err := time.Parse(time.RFC3339Nano, ev[1])
		if err != nil {
			t.Fatal(err)
		}
		pid, _ := strconv.Atoi(ev[3])
		imported, ok := serving[pid]
		switch {
		case !ok:
			t.Errorf("%q for pid %d, which never imported its app", ev[2], pid)
		case at.Add(time.Millisecond).Before(imported):
			t.Errorf("%q for pid %d at %s, %s before it had imported its app", ev[2], pid,
				at.Format("15:04:05.000"), imported.Sub(at).Round(time.Millisecond))
		}
		if ev[2] == "worker accepting" {
			seen++
		} else {
			replaced++
		}
	}
	if seen != 4 || replaced != 2 {
		t.Errorf("%d workers seen accepting and %d replaced, want 4 and 2", seen, replaced)
	}
}
