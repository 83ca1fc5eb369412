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
	status := procStatus()
	i.SigIgn, i.SigBlk = status["SigIgn"], status["SigBlk"]
	return i
}

// procStatus reads /proc/self/status once into its "Name: value" fields.
func procStatus() map[string]string {
	fields := map[string]string{}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return fields
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	return fields
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
