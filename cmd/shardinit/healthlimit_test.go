package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testHealthLimits is the environment variable through which a test sets
// the health server's timeouts in the shardinit it starts, e.g.
// "idle=300ms,header=30s"; shardinit's users have no such setting.
const testHealthLimits = "TEST_HEALTH_LIMITS"

// applyTestHealthLimits is called by TestMain before it runs shardinit.
func applyTestHealthLimits() {
	fields := map[string]*time.Duration{"idle": &healthLimits.idle, "header": &healthLimits.header,
		"read": &healthLimits.read, "write": &healthLimits.write, "silent": &healthLimits.silent}
	for kv := range strings.SplitSeq(os.Getenv(testHealthLimits), ",") {
		name, value, _ := strings.Cut(kv, "=")
		if d, err := time.ParseDuration(value); err == nil && fields[name] != nil {
			*fields[name] = d
		}
	}
}

// fdCount is how many file descriptors pid has open.
func fdCount(pid int) int {
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(fds)
}

// statusField reads a number from /proc/PID/status ("VmRSS", "Threads").
func statusField(t *testing.T, pid int, name string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			n, err := strconv.Atoi(strings.Fields(rest)[0])
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return n
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, name)
	return 0
}

// watchFDs samples pid's open fds until the returned function is called,
// which returns the most seen.
func watchFDs(pid int) (peak func() int) {
	var most atomic.Int64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			most.Store(max(most.Load(), int64(fdCount(pid))))
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return func() int {
		close(stop)
		<-done
		return int(most.Load())
	}
}

// keepAliveGet sends GET path on conn, reads the answer and leaves the
// connection open for another request.
func keepAliveGet(conn net.Conn, br *bufio.Reader, path string) error {
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: probe\r\n\r\n", path); err != nil {
		return err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return nil
}

// holdConns opens n connections to addr, par at a time; each sends what
// hello does with it, and all stay open until the test ends.
func holdConns(t *testing.T, addr string, n, par int, hello func(net.Conn) error) {
	t.Helper()
	var (
		mu    sync.Mutex
		conns []net.Conn
		errs  []error
		next  atomic.Int64
		wg    sync.WaitGroup
	)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range par {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
				if err == nil {
					conn.SetDeadline(time.Now().Add(20 * time.Second))
					err = hello(conn)
				}
				mu.Lock()
				if conn != nil {
					conns = append(conns, conn)
				}
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d connections failed, the first: %v", len(errs), n, errs[0])
	}
}

// fdBound is the most fds shardinit may have open while clients crowd its
// health port: what it had before, the connection limit, and a few that
// are closing while their places are taken.
func fdBound(before int) int { return before + healthLimits.conns + 8 }

// 3,000 keep-alive connections that each made one request and then stay
// idle are all answered, and shardinit never holds more than its
// connection limit of them: at the limit the longest idle is closed. A new
// probe is answered at once after them.
func TestHealthKeepAliveCrowdBounded(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, _ := startPool(t, start{}, 1, p.flag(), "http")
	p.waitCode("/readyz", http.StatusOK)
	pid := in.cmd.Process.Pid
	before := fdCount(pid)
	peak := watchFDs(pid)
	holdConns(t, p.addr, 3000, 32, func(c net.Conn) error { return keepAliveGet(c, bufio.NewReader(c), "/livez") })
	most := peak()
	t.Logf("fds: %d before, at most %d while 3000 keep-alive connections were made; RSS %d KiB after", before, most,
		statusField(t, pid, "VmRSS"))
	if most > fdBound(before) {
		t.Errorf("shardinit had %d fds open (%d before) with 3000 keep-alive connections made, want at most %d",
			most, before, fdBound(before))
	}
	began := time.Now()
	if code, body := p.code("/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz with the idle connections held: %d %s", code, body)
	}
	t.Logf("/readyz answered in %s with the idle connections held", time.Since(began).Round(time.Millisecond))
	in.stopCleanly()
}

// Connections that send nothing make way for a probe too, well before the
// header timeout (here 30s) would close them; shardinit's fds stay bounded.
func TestHealthSilentCrowdBounded(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, _ := startPool(t, start{env: []string{testHealthLimits + "=header=30s"}}, 1, p.flag(), "http")
	p.waitCode("/readyz", http.StatusOK)
	pid := in.cmd.Process.Pid
	before := fdCount(pid)
	peak := watchFDs(pid)
	holdConns(t, p.addr, 300, 32, func(net.Conn) error { return nil })
	began := time.Now()
	code, body := p.code("/readyz")
	took := time.Since(began)
	most := peak()
	t.Logf("fds: %d before, at most %d with 300 silent connections; /readyz answered in %s", before, most, took.Round(time.Millisecond))
	if code != http.StatusOK {
		t.Fatalf("/readyz behind 300 silent connections: %d %s", code, body)
	}
	if took > 10*time.Second {
		t.Errorf("/readyz took %s behind 300 silent connections, want well below the 30s header timeout", took)
	}
	if most > fdBound(before) {
		t.Errorf("shardinit had %d fds open (%d before) with 300 silent connections, want at most %d", most, before, fdBound(before))
	}
	in.stopCleanly()
}

// A keep-alive connection is closed once it has been idle for the idle
// timeout (here 300ms).
func TestHealthIdleTimeout(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, _ := startPool(t, start{env: []string{testHealthLimits + "=idle=300ms"}}, 1, p.flag(), "http")
	p.waitCode("/readyz", http.StatusOK)
	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	if err := keepAliveGet(conn, br, "/livez"); err != nil {
		t.Fatal(err)
	}
	idle := time.Now()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = br.ReadByte()
	waited := time.Since(idle)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("idle keep-alive connection: read gave %v after %s, want EOF (closed by shardinit)", err, waited.Round(time.Millisecond))
	}
	if waited < 200*time.Millisecond {
		t.Errorf("idle connection closed after %s, before the 300ms idle timeout", waited)
	}
	in.stopCleanly()
}

// shardinit's RSS stays flat under 1,000 scrapes of /metrics and /status.
func TestHealthRSSFlatUnderScrapes(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, _ := startPool(t, start{}, 2, p.flag(), "http")
	p.waitCode("/readyz", http.StatusOK)
	pid := in.cmd.Process.Pid
	for range 20 {
		p.metrics()
	}
	before := statusField(t, pid, "VmRSS")
	for i := range 1000 {
		if _, err := get("http://" + p.addr + "/metrics"); err != nil {
			t.Fatalf("scrape %d: %v", i, err)
		}
		if i%10 == 0 {
			p.status()
		}
	}
	after := statusField(t, pid, "VmRSS")
	t.Logf("RSS: %d KiB before, %d KiB after 1000 scrapes of /metrics and 100 of /status", before, after)
	if grew := after - before; grew > 16<<10 {
		t.Errorf("RSS grew by %d KiB over 1000 scrapes, want less than 16 MiB", grew)
	}
	in.stopCleanly()
}
