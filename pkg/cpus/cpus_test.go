package cpus

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

// cpuFixture is an in-memory filesystem: path -> content. A value of
// errPermission makes reading that path fail with fs.ErrPermission.
type cpuFixture map[string]string

const errPermission = "\x00permission"

func (f cpuFixture) readFile(name string) ([]byte, error) {
	s, ok := f[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	if s == errPermission {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return []byte(s), nil
}

// Mountinfo lines as found on real hosts.
const (
	miTmpfs      = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	miV1CPUAcct  = "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
	miV1CPU      = "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	miV1CPUJoint = "35 25 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:15 - cgroup cgroup rw,cpu,cpuacct\n"
	miUnified    = "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw\n"
	miV2         = "28 22 0:25 / /sys/fs/cgroup rw,nosuid,nodev shared:4 master:1 - cgroup2 cgroup2 rw,nsdelegate\n"
)

func TestCPUQuotaFromCgroupFixtures(t *testing.T) {
	tests := []struct {
		name  string
		files cpuFixture
		want  float64
	}{
		{
			name: "v1 with quota",
			files: cpuFixture{
				procCgroupPath:    "5:cpuacct:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n",
				procMountinfoPath: miTmpfs + miV1CPUAcct + miV1CPUJoint,
				"/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us":  "150000\n",
				"/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
			},
			want: 1.5,
		},
		{
			name: "v1 unlimited",
			files: cpuFixture{
				procCgroupPath:                         "1:cpu:/\n",
				procMountinfoPath:                      miV1CPU,
				"/sys/fs/cgroup/cpu/cpu.cfs_quota_us":  "-1\n",
				"/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n",
			},
			want: 0,
		},
		{
			name: "v2 with limit",
			files: cpuFixture{
				procCgroupPath:               "0::/app\n",
				procMountinfoPath:            miV2,
				"/sys/fs/cgroup/app/cpu.max": "150000 100000\n",
			},
			want: 1.5,
		},
		{
			name: "v2 max",
			files: cpuFixture{
				procCgroupPath:               "0::/app\n",
				procMountinfoPath:            miV2,
				"/sys/fs/cgroup/app/cpu.max": "max 100000\n",
			},
			want: 0,
		},
		{
			name: "v2 nested, parent tighter",
			files: cpuFixture{
				procCgroupPath:    "0::/kubepods/pod1/ctr\n",
				procMountinfoPath: miV2,
				"/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max": "max 100000\n",
				"/sys/fs/cgroup/kubepods/pod1/cpu.max":     "100000 100000\n",
				"/sys/fs/cgroup/kubepods/cpu.max":          "400000 100000\n",
			},
			want: 1,
		},
		{
			name: "v2 nested, child tighter",
			files: cpuFixture{
				procCgroupPath:    "0::/kubepods/pod1/ctr\n",
				procMountinfoPath: miV2,
				"/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max": "50000 100000\n",
				"/sys/fs/cgroup/kubepods/pod1/cpu.max":     "100000 100000\n",
			},
			want: 0.5,
		},
		{
			name: "v1 nested, missing level skipped",
			files: cpuFixture{
				procCgroupPath:    "1:cpu:/a/b/c\n",
				procMountinfoPath: miV1CPU,
				"/sys/fs/cgroup/cpu/a/b/c/cpu.cfs_quota_us":  "-1\n",
				"/sys/fs/cgroup/cpu/a/cpu.cfs_quota_us":      "200000\n",
				"/sys/fs/cgroup/cpu/a/cpu.cfs_period_us":     "100000\n",
				"/sys/fs/cgroup/cpu/cpu.cfs_quota_us":        "-1\n",
				"/sys/fs/cgroup/cpu/a/b/c/cpu.cfs_period_us": "100000\n",
			},
			want: 2,
		},
		{
			name: "mount root is the container's cgroup",
			files: cpuFixture{
				procCgroupPath:                         "1:cpu:/docker/abc\n",
				procMountinfoPath:                      "32 31 0:29 /docker/abc /sys/fs/cgroup/cpu ro,nosuid master:12 - cgroup cgroup rw,cpu\n",
				"/sys/fs/cgroup/cpu/cpu.cfs_quota_us":  "300000\n",
				"/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n",
				// Above the mount point: must not be read.
				"/sys/fs/cgroup/cpu.cfs_quota_us":  "1000\n",
				"/sys/fs/cgroup/cpu.cfs_period_us": "100000\n",
			},
			want: 3,
		},
		{
			name: "mount root is a parent of the cgroup",
			files: cpuFixture{
				procCgroupPath:                    "0::/kubepods/pod1/ctr\n",
				procMountinfoPath:                 "28 22 0:25 /kubepods /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n",
				"/sys/fs/cgroup/pod1/ctr/cpu.max": "400000 100000\n",
				"/sys/fs/cgroup/pod1/cpu.max":     "200000 100000\n",
				"/sys/fs/cgroup/cpu.max":          "100000 100000\n",
			},
			want: 1,
		},
		{
			name: "mount root is not a whole-element prefix",
			files: cpuFixture{
				procCgroupPath:              "0::/dockerd\n",
				procMountinfoPath:           "28 22 0:25 /docker /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n",
				"/sys/fs/cgroup/cpu.max":    "100000 100000\n",
				"/sys/fs/cgroup/d/cpu.max":  "100000 100000\n",
				"/sys/fs/cgroup/rd/cpu.max": "100000 100000\n",
			},
			want: 0,
		},
		{
			name: "cgroup namespace, mount root sub path",
			files: cpuFixture{
				procCgroupPath:           "0::/\n",
				procMountinfoPath:        "28 22 0:25 /kubepods/pod1/ctr /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n",
				"/sys/fs/cgroup/cpu.max": "250000 100000\n",
			},
			want: 2.5,
		},
		{
			name: "cgroup namespace, mount root /",
			files: cpuFixture{
				procCgroupPath:           "0::/\n",
				procMountinfoPath:        miV2,
				"/sys/fs/cgroup/cpu.max": "250000 100000\n",
			},
			want: 2.5,
		},
		{
			name: "cgroup outside the namespace is unreachable",
			files: cpuFixture{
				procCgroupPath:           "0::/../init\n",
				procMountinfoPath:        miV2,
				"/sys/fs/cgroup/cpu.max": "100000 100000\n",
				"/sys/fs/init/cpu.max":   "100000 100000\n",
			},
			want: 0,
		},
		{
			name: "hybrid prefers v1",
			files: cpuFixture{
				procCgroupPath:    "2:cpuacct:/\n1:cpu:/svc\n0::/svc\n",
				procMountinfoPath: miTmpfs + miV1CPU + miV1CPUAcct + miUnified,
				"/sys/fs/cgroup/cpu/svc/cpu.cfs_quota_us":  "50000\n",
				"/sys/fs/cgroup/cpu/svc/cpu.cfs_period_us": "100000\n",
				"/sys/fs/cgroup/unified/svc/cpu.max":       "200000 100000\n",
			},
			want: 0.5,
		},
		{
			name: "hybrid without v1 cpu mount uses v2",
			files: cpuFixture{
				procCgroupPath:                       "1:cpu:/svc\n0::/svc\n",
				procMountinfoPath:                    miTmpfs + miV1CPUAcct + miUnified,
				"/sys/fs/cgroup/unified/svc/cpu.max": "200000 100000\n",
			},
			want: 2,
		},
		{
			name: "escaped mount point",
			files: cpuFixture{
				procCgroupPath:              "0::/\n",
				procMountinfoPath:           `28 22 0:25 / /sys/fs/my\040cgroup rw - cgroup2 cgroup2 rw` + "\n",
				"/sys/fs/my cgroup/cpu.max": "300000 200000\n",
			},
			want: 1.5,
		},
		{
			name: "mount source empty",
			files: cpuFixture{
				procCgroupPath:          "1:cpu:/\n",
				procMountinfoPath:       "32 31 0:29 / /cg rw - cgroup  rw,cpu\n",
				"/cg/cpu.cfs_quota_us":  "100000\n",
				"/cg/cpu.cfs_period_us": "100000\n",
			},
			want: 1,
		},
		{
			name:  "no proc files",
			files: cpuFixture{},
			want:  0,
		},
		{
			name: "unreadable proc file",
			files: cpuFixture{
				procCgroupPath:    errPermission,
				procMountinfoPath: miV2,
			},
			want: 0,
		},
		{
			name: "no cgroup mount",
			files: cpuFixture{
				procCgroupPath:    "0::/app\n",
				procMountinfoPath: miTmpfs,
			},
			want: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cgroupFS{readFile: tt.files.readFile}.quota()
			if err != nil {
				t.Fatalf("quota() error: %v", err)
			}
			if got != tt.want {
				t.Errorf("quota() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCPUQuotaCgroupErrors(t *testing.T) {
	tests := []struct {
		name    string
		files   cpuFixture
		wantErr string
	}{
		{
			name: "malformed v1 quota",
			files: cpuFixture{
				procCgroupPath:                         "1:cpu:/\n",
				procMountinfoPath:                      miV1CPU,
				"/sys/fs/cgroup/cpu/cpu.cfs_quota_us":  "lots\n",
				"/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n",
			},
			wantErr: "parse /sys/fs/cgroup/cpu/cpu.cfs_quota_us: ",
		},
		{
			name: "zero v1 period",
			files: cpuFixture{
				procCgroupPath:                         "1:cpu:/\n",
				procMountinfoPath:                      miV1CPU,
				"/sys/fs/cgroup/cpu/cpu.cfs_quota_us":  "100000\n",
				"/sys/fs/cgroup/cpu/cpu.cfs_period_us": "0\n",
			},
			wantErr: "parse /sys/fs/cgroup/cpu/cpu.cfs_period_us: ",
		},
		{
			name: "malformed v2 cpu.max in an ancestor",
			files: cpuFixture{
				procCgroupPath:               "0::/app\n",
				procMountinfoPath:            miV2,
				"/sys/fs/cgroup/app/cpu.max": "max 100000\n",
				"/sys/fs/cgroup/cpu.max":     "150000\n",
			},
			wantErr: "parse /sys/fs/cgroup/cpu.max: ",
		},
		{
			name: "unreadable limit file",
			files: cpuFixture{
				procCgroupPath:           "0::/\n",
				procMountinfoPath:        miV2,
				"/sys/fs/cgroup/cpu.max": errPermission,
			},
			wantErr: "read CPU limit: open /sys/fs/cgroup/cpu.max: permission denied",
		},
		{
			name: "malformed /proc/self/cgroup",
			files: cpuFixture{
				procCgroupPath:    "garbage\n",
				procMountinfoPath: miV2,
			},
			wantErr: "parse /proc/self/cgroup: ",
		},
		{
			name: "mountinfo without separator",
			files: cpuFixture{
				procCgroupPath:    "0::/\n",
				procMountinfoPath: "28 22 0:25 / /sys/fs/cgroup rw cgroup2 cgroup2 rw\n",
			},
			wantErr: "parse /proc/self/mountinfo: ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cgroupFS{readFile: tt.files.readFile}.quota()
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("quota() = %v, %v; want error starting with %q", got, err, tt.wantErr)
			}
		})
	}
}

func TestParseCPUMax(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantErr bool
	}{
		{in: "max 100000\n", want: 0},
		{in: "150000 100000\n", want: 1.5},
		{in: "50000 100000", want: 0.5},
		{in: "150000\n", wantErr: true},
		{in: "max\n", wantErr: true},
		{in: "150000 0\n", wantErr: true},
		{in: "-1 100000\n", wantErr: true},
		{in: "max x\n", wantErr: true},
		{in: "1 2 3\n", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseCPUMax(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseCPUMax(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseCPUCFSValue(t *testing.T) {
	tests := []struct {
		in           string
		allowNoLimit bool
		want         int64
		wantErr      bool
	}{
		{in: "-1\n", allowNoLimit: true, want: -1},
		{in: "-1\n", allowNoLimit: false, wantErr: true},
		{in: "-2\n", allowNoLimit: true, wantErr: true},
		{in: "0\n", allowNoLimit: true, wantErr: true},
		{in: "100000\n", want: 100000},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseCFSValue(tt.in, tt.allowNoLimit)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseCFSValue(%q, %v) = %v, %v; want %v, error %v", tt.in, tt.allowNoLimit, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseCPUProcCgroup(t *testing.T) {
	in := "12:cpuset:/x\n11:cpu,cpuacct:/a:b\n3:cpuacct:/y\n1:name=systemd:/z\n0::/v2\n"
	v1, v2, err := parseProcCgroup(in)
	if err != nil {
		t.Fatalf("parseProcCgroup: %v", err)
	}
	if v1 != "/a:b" || v2 != "/v2" {
		t.Errorf("got v1 %q v2 %q, want v1 %q v2 %q", v1, v2, "/a:b", "/v2")
	}
}

func TestParseCPUMountinfoLine(t *testing.T) {
	tests := []struct {
		line string
		want cgroupMount
	}{
		{
			line: "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
			want: cgroupMount{root: "/", point: "/sys/fs/cgroup/cpu", fstype: "cgroup", superOpts: "rw,cpu"},
		},
		{
			line: "28 22 0:25 /a\\040b /mnt/x\\134y rw shared:4 master:1 propagate_from:2 - cgroup2 none rw",
			want: cgroupMount{root: "/a b", point: `/mnt/x\y`, fstype: "cgroup2", superOpts: "rw"},
		},
	}
	for _, tt := range tests {
		got, err := parseMountinfoLine(tt.line)
		if err != nil || got != tt.want {
			t.Errorf("parseMountinfoLine(%q) = %+v, %v; want %+v", tt.line, got, err, tt.want)
		}
	}
}

func TestUnescapeCPUMountPath(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "/plain", want: "/plain"},
		{in: `/a\040b\011c\012d`, want: "/a b\tc\nd"},
		{in: `/back\134slash`, want: `/back\slash`},
		{in: `/trunc\04`, wantErr: true},
		{in: `/bad\09x`, wantErr: true},
		{in: `/big\777`, wantErr: true},
	}
	for _, tt := range tests {
		got, err := unescapeMountPath(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("unescapeMountPath(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestWorkers(t *testing.T) {
	tests := []struct {
		cpus Budget
		want int
	}{
		{Budget{Quota: 0.5, Cpuset: 4}, 1},
		{Budget{Quota: 1.5, Cpuset: 4}, 2},
		{Budget{Quota: 8, Cpuset: 2}, 2},
		{Budget{Quota: 0, Cpuset: 2}, 2},
		{Budget{Quota: 3, Cpuset: 8}, 3},
		{Budget{Quota: 0.01, Cpuset: 1}, 1},
		{Budget{Quota: 2.5, Cpuset: 0}, 3},
		{Budget{}, 1},
		{Budget{Quota: 1e300}, maxCPUBudget},
	}
	for _, tt := range tests {
		if got := tt.cpus.Workers(); got != tt.want {
			t.Errorf("%+v.Workers() = %d, want %d", tt.cpus, got, tt.want)
		}
	}
}

func TestWorkerGOMAXPROCS(t *testing.T) {
	tests := []struct {
		cpus Budget
		n    int
		want int
	}{
		{Budget{Quota: 4, Cpuset: 8}, 2, 2},
		{Budget{Quota: 1, Cpuset: 8}, 3, 1},
		{Budget{Quota: 0, Cpuset: 8}, 3, 2},
		{Budget{Quota: 16, Cpuset: 8}, 2, 4},
		{Budget{Quota: 2.5, Cpuset: 8}, 1, 2},
		{Budget{Quota: 0, Cpuset: 8}, 0, 8},
		{Budget{Quota: 0, Cpuset: 8}, -1, 8},
		{Budget{}, 4, 1},
	}
	for _, tt := range tests {
		if got := tt.cpus.WorkerGOMAXPROCS(tt.n); got != tt.want {
			t.Errorf("%+v.WorkerGOMAXPROCS(%d) = %d, want %d", tt.cpus, tt.n, got, tt.want)
		}
	}
}

func TestDetectCPUs(t *testing.T) {
	c, err := Detect()
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip("Detect is not supported on this platform")
	}
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	t.Logf("Detect() = %+v, Workers() = %d", c, c.Workers())
	if c.Cpuset < 1 {
		t.Errorf("Cpuset = %d, want >= 1", c.Cpuset)
	}
	if c.Quota < 0 {
		t.Errorf("Quota = %v, want >= 0", c.Quota)
	}
	if got := c.Workers(); got < 1 {
		t.Errorf("Workers() = %d, want >= 1", got)
	}
}
