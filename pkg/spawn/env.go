package spawn

import (
	"strconv"
	"strings"

	sdk "github.com/shardinit/shardinit/pkg/worker"
)

// firstFD is where the systemd protocol puts a worker's first socket, the
// fd the worker SDK reads it from.
const firstFD = sdk.FirstFD

// ownedVars are the variables shardinit sets for each worker. Copies that
// shardinit itself inherited are dropped: a worker must never take another
// process's LISTEN_FDS for its own.
var ownedVars = []string{
	"LISTEN_PID=", "LISTEN_FDS=", "LISTEN_FDNAMES=",
	"EINHORN_FD_", // EINHORN_FD_COUNT and EINHORN_FD_<i>
	"NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=",
	// Named for the worker contract alone: were the count SHARDINIT_WORKERS,
	// the --workers flag's mirror, a shardinit run as a worker would take
	// its parent's count for its own.
	"SHARDINIT_SLOT=", "SHARDINIT_SLOTS=",
}

func owned(kv string) bool {
	for _, prefix := range ownedVars {
		if strings.HasPrefix(kv, prefix) {
			return true
		}
	}
	return false
}

// workerEnv is the environment of the worker in slot, one of slots.
// LISTEN_PID is added later by the exec stage, which alone knows the
// worker's PID.
func workerEnv(base []string, slot, slots int, names []string, gomaxprocs int) []string {
	env := make([]string, 0, len(base)+8+len(names))
	for _, kv := range base {
		if !owned(kv) {
			env = append(env, kv)
		}
	}
	if len(names) > 0 {
		env = append(env,
			"LISTEN_FDS="+strconv.Itoa(len(names)),
			"LISTEN_FDNAMES="+strings.Join(names, ":"),
			"EINHORN_FD_COUNT="+strconv.Itoa(len(names)))
		for i := range names {
			env = append(env, "EINHORN_FD_"+strconv.Itoa(i)+"="+strconv.Itoa(firstFD+i))
		}
	}
	env = append(env,
		"SHARDINIT_SLOT="+strconv.Itoa(slot),
		"SHARDINIT_SLOTS="+strconv.Itoa(slots))
	if gomaxprocs > 0 && !hasEnv(base, "GOMAXPROCS") {
		env = append(env, "GOMAXPROCS="+strconv.Itoa(gomaxprocs))
	}
	return env
}

// withPreload puts lib first in LD_PRELOAD, keeping what the user preloads.
func withPreload(env []string, lib string) []string {
	for i, kv := range env {
		if rest, ok := strings.CutPrefix(kv, "LD_PRELOAD="); ok {
			if rest != "" {
				lib += ":" + rest
			}
			env[i] = "LD_PRELOAD=" + lib
			return env
		}
	}
	return append(env, "LD_PRELOAD="+lib)
}

// hasEnv says whether env sets name.
func hasEnv(env []string, name string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}
