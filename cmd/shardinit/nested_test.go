package main

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/shardinit/shardinit/pkg/cpus"
)

// A shardinit run as a worker, with nothing of its own set, sizes itself by
// the CPUs and not by its parent's slot count.
func TestNestedShardinitSizesItself(t *testing.T) {
	t.Parallel()
	budget, _ := cpus.Detect()
	own := budget.Workers()
	parent := 3
	if own == parent {
		parent++
	}
	nested := append([]string{os.Args[0], "shardinit", "--sockets", "shared", "--listen", "http=127.0.0.1:0", "--health-addr", "", "--"},
		worker("http")...)
	in := startShardinit(t, start{}, append([]string{"--workers", strconv.Itoa(parent), "--listen", listenArg("http", freePort(t)),
		"--health-addr", "", "--"}, nested...)...)
	started := regexp.MustCompile(`(?m)msg=starting .* workers=(\d+) .* listeners="http=127\.0\.0\.1:(\d+) .* command="\S+ worker http"$`)
	var got [][]string
	eventually(t, 15*time.Second, fmt.Sprintf("%d nested shardinits to start", parent), func() bool {
		got = started.FindAllStringSubmatch(in.log.String(), -1)
		return len(got) == parent
	})
	for _, m := range got {
		if m[1] != strconv.Itoa(own) {
			t.Errorf("nested shardinit runs %s workers, want its own default %d (the parent has %d)", m[1], own, parent)
		}
		// Each of its workers answers, and so handles the stop signal. On
		// the shared socket the first to serve may take every request for
		// a while: ask until each has answered.
		n, _ := strconv.Atoi(m[1])
		port, _ := strconv.Atoi(m[2])
		seen := map[int]bool{}
		eventually(t, 15*time.Second, fmt.Sprintf("each of the %d workers on port %d to answer", n, port), func() bool {
			if slot, _, err := hello(port); err == nil {
				seen[slot] = true
			}
			return len(seen) == n
		})
	}
	in.stopCleanly()
}
