package spawn

import (
	"slices"
	"testing"
)

func TestWorkerEnv(t *testing.T) {
	base := []string{"PATH=/bin", "LISTEN_FDS=9", "LISTEN_PID=1", "EINHORN_FD_7=7", "NOTIFY_SOCKET=/x",
		"SHARDINIT_SLOT=5", "HOME=/root"}
	got := workerEnv(base, 1, 3, []string{"web", "admin"}, 2)
	want := []string{"PATH=/bin", "HOME=/root",
		"LISTEN_FDS=2", "LISTEN_FDNAMES=web:admin", "EINHORN_FD_COUNT=2", "EINHORN_FD_0=3", "EINHORN_FD_1=4",
		"SHARDINIT_SLOT=1", "SHARDINIT_SLOTS=3", "GOMAXPROCS=2"}
	if !slices.Equal(got, want) {
		t.Errorf("workerEnv:\n got %q\nwant %q", got, want)
	}
}

func TestWorkerEnvKeepsUsersGOMAXPROCS(t *testing.T) {
	got := workerEnv([]string{"GOMAXPROCS=7"}, 0, 1, nil, 2)
	want := []string{"GOMAXPROCS=7", "SHARDINIT_SLOT=0", "SHARDINIT_SLOTS=1"}
	if !slices.Equal(got, want) {
		t.Errorf("workerEnv: got %q, want %q (no sockets: no LISTEN_*)", got, want)
	}
}
