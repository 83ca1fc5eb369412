package spawn

import (
	"syscall"
	"time"

	"github.com/shardinit/shardinit/internal/procstat"
	"golang.org/x/sys/unix"
)

// osCalls are the system calls by which the supervisor acts on processes:
// it starts them, signals them and waits for them through these alone, so
// that tests of its state machine can put recorders in their place and
// feed it exits and times without a process of their own being touched.
type osCalls struct {
	forkExec func(argv0 string, argv []string, attr *syscall.ProcAttr) (int, error)
	kill     func(pid int, sig unix.Signal) error
	wait4    func(pid int, ws *unix.WaitStatus, options int, ru *unix.Rusage) (int, error)
	now      func() time.Time // when a child that was reaped ended
	// resident is the resident memory, in bytes, of each session asked.
	resident func(sessions map[int]bool) map[int]uint64
	// state is a process's state letter (proc(5)), "" when unknown.
	state func(pid int) string
}

// realOS is the kernel.
var realOS = osCalls{forkExec: syscall.ForkExec, kill: unix.Kill, wait4: unix.Wait4, now: time.Now, resident: residentBySession, state: processState}

func processState(pid int) string {
	st, err := procstat.Read(pid)
	if err != nil {
		return ""
	}
	return st.State()
}

func residentBySession(sessions map[int]bool) map[int]uint64 {
	out := map[int]uint64{}
	for sid, u := range procstat.BySession(sessions) {
		out[sid] = u.ResidentBytes
	}
	return out
}
