package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shardinit/shardinit/pkg/cpus"
	"github.com/shardinit/shardinit/pkg/listen"
	"github.com/shardinit/shardinit/pkg/spawn"
)

// plan is every setting checked and in the typed form it is used in,
// ready to run.
type plan struct {
	specs      []listen.Spec
	sockets    listen.Options
	pool       spawn.Config
	cpus       cpus.Budget
	cpuCheck   time.Duration // --cpu-limit-check
	balanceIn  time.Duration // --balance-interval
	healthAddr string
	healthWait time.Duration
	registry   *prometheus.Registry
	logLevel   slog.Level
	logJSON    bool
}

// makePlan checks every setting, in the table's order; the first problem
// is one line naming the setting and the value, and a usage error (exit
// 2). The command after "--" comes before the file's.
func makePlan(vals values, command []string) (plan, error) {
	p := plan{pool: spawn.Config{Command: command, Env: workerBaseEnv()}}
	if err := p.apply(vals); err != nil {
		return plan{}, usageError{err}
	}
	return p, nil
}

// checkClashes refuses two listeners on one port (see listen.Clash).
func checkClashes(specs []listen.Spec) error {
	for i, a := range specs {
		for _, b := range specs[i+1:] {
			if err := listen.Clash(a, b); err != nil {
				return fmt.Errorf("listen %s and %s: %w", a, b, err)
			}
		}
	}
	return nil
}

// healthAddr checks the health address as --listen is checked (an IP
// address, localhost or none, and never a resolver), so that a bad one
// stops shardinit before anything is bound, and refuses one on a
// listener's port.
func healthAddr(addr string, listeners []listen.Spec) (string, error) {
	if addr == "" {
		return "", nil
	}
	if scheme, _, ok := strings.Cut(addr, "://"); ok {
		if scheme == "unix" {
			return "", fmt.Errorf("health-addr %q: unix sockets are not supported for the health address (want host:port or :port)", addr)
		}
		return "", fmt.Errorf("health-addr %q: scheme %q is not supported (want host:port or :port)", addr, scheme)
	}
	s, err := listen.ParseTCP(addr)
	if err != nil {
		return "", fmt.Errorf("health-addr %q: %w", addr, err)
	}
	for _, l := range listeners {
		if err := listen.Clash(s, l); err != nil {
			return "", fmt.Errorf("health-addr %s and listen %s: %w", addr, l, err)
		}
	}
	return s.Address, nil
}

// sizePool fills in the worker count (from the CPU limit when not given)
// and the GOMAXPROCS each worker gets, so N Go workers do not each claim
// every CPU of the pod.
func (p *plan) sizePool(log *slog.Logger) error {
	budget, err := cpus.Detect()
	if err != nil {
		log.Warn("CPU limit unknown; sizing by the cpuset", "err", err, "cpuset", budget.Cpuset)
	}
	p.cpus = budget
	auto := p.pool.Workers == 0
	if auto {
		p.pool.Workers = budget.Workers()
	}
	p.pool.GOMAXPROCS = budget.WorkerGOMAXPROCS(p.pool.Workers)
	p.pool.CPU = share(budget, p.pool.Workers)
	if auto && p.cpuCheck > 0 {
		p.pool.Follow, p.pool.FollowEvery = followCPU, p.cpuCheck
	}
	if p.pool.MinReady > p.pool.Workers {
		return usagef("min-ready %d: more than the %d workers the CPU limit gives; set --workers", p.pool.MinReady, p.pool.Workers)
	}
	if p.pool.MaxWorkers == 0 {
		p.pool.MaxWorkers = budget.MaxWorkers(p.pool.Workers)
	}
	if p.pool.MaxWorkers < p.pool.Workers {
		return usagef("max-workers %d: fewer than the %d workers the CPU limit gives; set --workers", p.pool.MaxWorkers, p.pool.Workers)
	}
	return nil
}

// workerBaseEnv is shardinit's environment without its own settings.
func workerBaseEnv() []string {
	own := mirrors()
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !own[name] {
			env = append(env, kv)
		}
	}
	return env
}

// share is what budget gives a pool of workers.
func share(budget cpus.Budget, workers int) spawn.CPUShare {
	return spawn.CPUShare{Limit: budget.Quota, Cpuset: budget.Cpuset, Workers: workers, GOMAXPROCS: budget.WorkerGOMAXPROCS(workers)}
}

// followCPU reads the CPU limit again, as sizePool read it at start.
func followCPU() (spawn.CPUShare, error) {
	budget, err := cpus.Detect()
	if err != nil {
		return spawn.CPUShare{}, err
	}
	return share(budget, budget.Workers()), nil
}
