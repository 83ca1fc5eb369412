package testworker

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// snapshot records the worker's identity and signal state before the Go
// runtime or the worker itself changes anything.
func snapshot() Info {
	i := Info{PID: os.Getpid(), PPID: os.Getppid(), PGID: syscall.Getpgrp(), Env: map[string]string{}}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		i.Env[k] = v
	}
	i.SigIgn, i.SigBlk = statusField("SigIgn"), statusField("SigBlk")
	return i
}

func statusField(name string) string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// OrphanCount is how many children the orphans mode leaves behind: half
// exit at once (zombies that are never waited for), half live until their
// parent is gone.
const OrphanCount = 100

// orphans leaves OrphanCount children to shardinit and exits 3, once per
// dir; the successor finds the marker and serves.
func orphans(dir string) int {
	marker, err := os.OpenFile(filepath.Join(dir, "orphans-left"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return serve(inherited, nil, syscall.SIGTERM)
	}
	marker.Close()
	for i := range OrphanCount {
		mode := []string{"worker", "exit", "0"}
		if i%2 == 1 {
			mode = []string{"worker", "orphan"}
		}
		cmd := exec.Command(os.Args[0], mode...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
		if err := cmd.Start(); err != nil {
			return 1
		}
	}
	return 3
}
