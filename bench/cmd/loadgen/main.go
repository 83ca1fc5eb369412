// Command loadgen is the benchmark's constant-rate (open-loop) HTTP/1.1 load
// generator, in the manner of wrk2: every connection sends on a fixed
// schedule, and each request's latency counts from the moment it was due,
// not from when it could be sent. A server that stalls therefore shows its
// stall in every request that had to wait, instead of hiding it by slowing
// the client down (coordinated omission) as a closed loop (wrk) does.
//
//	loadgen -addr 127.0.0.1:8080 -rate 2000 -conns 32 -duration 10s [-keepalive=false]
//
// SIGINT or SIGTERM ends it early: no new request is sent, those under way
// finish, and the counts cover what was due until then. It prints one JSON object: requests due and done, errors by kind, and the
// latency percentiles in milliseconds. Debian has no wrk2, and h2load's
// --rps measures from the moment a request is sent.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/shardinit/shardinit/bench/internal/results"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "server address")
	path := flag.String("path", "/", "request path")
	rate := flag.Float64("rate", 1000, "requests per second, over all connections")
	conns := flag.Int("conns", 32, "connections (each sends at rate/conns)")
	duration := flag.Duration("duration", 10*time.Second, "how long requests are sent")
	keepalive := flag.Bool("keepalive", true, "reuse connections; false: a new connection per request (Connection: close)")
	timeout := flag.Duration("timeout", 10*time.Second, "per-request timeout (connect, write and read)")
	flag.Parse()
	if *rate <= 0 || *conns <= 0 || *duration <= 0 {
		fmt.Fprintln(os.Stderr, "loadgen: -rate, -conns and -duration must be positive")
		os.Exit(2)
	}

	req := "GET " + *path + " HTTP/1.1\r\nHost: " + *addr + "\r\nUser-Agent: shardinit-bench\r\n"
	if !*keepalive {
		req += "Connection: close\r\n"
	}
	req += "\r\n"

	interval := time.Duration(float64(time.Second) * float64(*conns) / *rate)
	start := time.Now().Add(50 * time.Millisecond)
	end := start.Add(*duration)
	// Nothing runs past the last due time plus one timeout.
	hardEnd := end.Add(*timeout)
	stop := make(chan struct{})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	var stoppedAt time.Time
	go func() {
		<-sigs
		stoppedAt = time.Now()
		close(stop)
	}()

	type conn struct {
		lat     []time.Duration
		errs    map[string]int
		due     int
		unstart int
	}
	all := make([]*conn, *conns)
	var wg sync.WaitGroup
	for i := range *conns {
		c := &conn{errs: map[string]int{}}
		all[i] = c
		offset := time.Duration(int64(interval) * int64(i) / int64(*conns))
		wg.Go(func() {
			var nc net.Conn
			var br *bufio.Reader
			closeConn := func() {
				if nc != nil {
					nc.Close()
					nc = nil
				}
			}
			defer closeConn()
			for k := 0; ; k++ {
				due := start.Add(offset + time.Duration(k)*interval)
				if !due.Before(end) || !waitUntil(due, stop) {
					return
				}
				c.due++
				if time.Now().After(hardEnd) {
					c.unstart++
					continue
				}
				if nc == nil {
					d, err := net.DialTimeout("tcp", *addr, *timeout)
					if err != nil {
						c.errs[kind("connect", err)]++
						continue
					}
					nc, br = d, bufio.NewReader(d)
				}
				nc.SetDeadline(time.Now().Add(*timeout))
				if _, err := io.WriteString(nc, req); err != nil {
					c.errs[kind("write", err)]++
					closeConn()
					continue
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					c.errs[kind("read", err)]++
					closeConn()
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil {
					c.errs[kind("read", err)]++
					closeConn()
					continue
				}
				c.lat = append(c.lat, time.Since(due))
				if resp.StatusCode >= 400 {
					c.errs["status"]++
				}
				if !*keepalive || resp.Close {
					closeConn()
				}
			}
		})
	}
	wg.Wait()

	r := results.Loadgen{Rate: *rate, Errors: map[string]int{"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}}
	var lat []time.Duration
	for _, c := range all {
		lat = append(lat, c.lat...)
		r.Due += c.due
		r.Unstarted += c.unstart
		for k, v := range c.errs {
			r.Errors[k] += v
		}
	}
	slices.Sort(lat)
	r.Done = len(lat)
	sent := *duration
	select {
	case <-stop:
		sent = min(sent, stoppedAt.Sub(start))
	default:
	}
	r.Achieved = float64(r.Done) / sent.Seconds()
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	pct := func(q float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := int(math.Ceil(q*float64(len(lat)))) - 1
		return ms(lat[max(i, 0)])
	}
	if len(lat) > 0 {
		var sum time.Duration
		for _, d := range lat {
			sum += d
		}
		r.MeanMs = ms(sum / time.Duration(len(lat)))
		r.MaxMs = ms(lat[len(lat)-1])
	}
	r.P50Ms, r.P90Ms, r.P99Ms, r.P999Ms = pct(0.50), pct(0.90), pct(0.99), pct(0.999)
	json.NewEncoder(os.Stdout).Encode(r)
}

// kind files an error under timeout when it is one, else under what failed.
func kind(what string, err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return what
}

// waitUntil sleeps until t and reports true, or false as soon as stop closes.
func waitUntil(t time.Time, stop <-chan struct{}) bool {
	select {
	case <-stop:
		return false
	default:
	}
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-stop:
		return false
	}
}
