package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shardinit/shardinit/pkg/health"
	"github.com/urfave/cli/v2"
)

// statusCommand shows a running shardinit's /status as tables.
var statusCommand = &cli.Command{
	Name:      "status",
	Usage:     "show the slots and queues of a running shardinit (from its /status)",
	UsageText: "shardinit status [--health-addr ADDR] [--config FILE]",
	Flags:     []cli.Flag{configFlag, healthAddrFlag()},
	Action: func(c *cli.Context) error {
		vals, err := resolve(c)
		if err != nil {
			return err
		}
		report, err := fetchStatus(vals["health-addr"].text)
		if err != nil {
			return err
		}
		printStatus(c.App.Writer, report)
		return nil
	},
	OnUsageError: onUsageError,
}

func healthAddrFlag() cli.Flag { return row("health-addr").flag() }

// fetchStatus asks shardinit at addr; ":8081" means this host.
func fetchStatus(addr string) (health.Report, error) {
	var r health.Report
	hostport, err := healthHost("status", addr)
	if err != nil {
		return r, err
	}
	resp, err := httpGet(hostport, "/status")
	if err != nil {
		return r, fmt.Errorf("status: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("status: GET http://%s/status: %s", hostport, visible(resp.Status))
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return r, fmt.Errorf("status: GET http://%s/status: %w", hostport, err)
	}
	return r, nil
}

// healthHost is the health address to dial, for the subcommand cmd: a
// wildcard host means this host.
func healthHost(cmd, addr string) (string, error) {
	if addr == "" {
		return "", usagef("%s: --health-addr is empty: shardinit serves no health endpoints", cmd)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", usagef("%s: health-addr %q: %v", cmd, addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// httpGet speaks plain HTTP/1.0 rather than using http.Client, which would
// link the whole client transport (and HTTP/2) into PID 1's binary: 0.3
// MiB more resident memory for commands a person runs now and then. The
// whole exchange has 5 s; the caller closes the body.
func httpGet(hostport, path string) (*http.Response, error) {
	conn, err := net.DialTimeout("tcp", hostport, 5*time.Second)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, hostport)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("GET http://%s%s: %w", hostport, path, err)
	}
	resp.Body = closeBoth{resp.Body, conn}
	return resp, nil
}

// closeBoth closes a response's body and its connection.
type closeBoth struct {
	io.ReadCloser
	conn net.Conn
}

func (c closeBoth) Close() error {
	c.ReadCloser.Close()
	return c.conn.Close()
}

func printStatus(w io.Writer, r health.Report) {
	ready := "not ready"
	if r.Ready {
		ready = "ready"
	}
	readySlots := 0
	for _, sl := range r.Slots {
		if sl.State == "ready" {
			readySlots++
		}
	}
	fmt.Fprintf(w, "%s, %s: %d of %d slots ready, %d needed\n\n", visible(r.Phase), ready, readySlots, len(r.Slots), r.MinReady)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SLOT\tSTATE\tPID\tGEN\tRESTARTS\tUPTIME\tLAST EXIT\tSTATUS")
	for _, sl := range r.Slots {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", sl.Slot, visible(sl.State), pidText(sl), sl.Generation, sl.Restarts,
			uptimeText(sl), orDash(visible(sl.LastExit)), orDash(visible(sl.StatusLine)))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LISTENER\tADDRESS\tSHARD\tQUEUED\tCAPACITY")
	for _, l := range r.Listeners {
		if len(l.Shards) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\n", visible(l.Name), visible(l.Address))
		}
		for _, sh := range l.Shards {
			shard := fmt.Sprint(sh.Shard)
			if l.Shared {
				shard = "shared"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", visible(l.Name), visible(l.Address), shard, sh.Queued, sh.Capacity)
		}
	}
	tw.Flush()
}

func pidText(sl health.SlotReport) string {
	s := "-"
	if sl.PID != 0 {
		s = fmt.Sprint(sl.PID)
	}
	if len(sl.Retiring) > 0 {
		s += fmt.Sprintf(" (stopping: %s)", strings.Trim(fmt.Sprint(sl.Retiring), "[]"))
	}
	return s
}

func uptimeText(sl health.SlotReport) string {
	if sl.PID == 0 {
		return "-"
	}
	return (time.Duration(sl.Uptime) * time.Second).Round(time.Second).String()
}

// visible shows the control characters and other unprintable runes of s
// as Go escapes (\x1b, \a, \u009b), and invalid UTF-8 as U+FFFD. A
// worker's STATUS= text is whatever bytes it sent, and a terminal obeys
// escapes: ESC ]0;… BEL retitles it, ESC [2J clears it. Every other string
// of /status goes through here too: whatever holds --health-addr wrote it.
func visible(s string) string {
	var b strings.Builder
	for _, r := range s { // invalid UTF-8 comes as U+FFFD
		if strconv.IsPrint(r) { // not C0, DEL, C1, bidi overrides, line separators
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r)
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
