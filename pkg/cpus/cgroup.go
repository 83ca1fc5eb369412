package cpus

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

const (
	procCgroupPath    = "/proc/self/cgroup"
	procMountinfoPath = "/proc/self/mountinfo"
)

// cgroupFS resolves the CPU limit through readFile so the lookup logic can
// run against fixtures instead of the host's /proc and /sys.
type cgroupFS struct {
	readFile func(name string) ([]byte, error)
}

// cgroupMount is the part of a /proc/self/mountinfo line needed to map a
// cgroup path onto the filesystem.
type cgroupMount struct {
	root, point, fstype, superOpts string
}

// limitFunc reads one cgroup directory's CPU limit in CPUs; 0 means none.
type limitFunc func(dir string) (float64, error)

// quota returns the effective CPU limit in CPUs, 0 when there is none.
func (f cgroupFS) quota() (float64, error) {
	cgroups, errC := f.readFile(procCgroupPath)
	mountinfo, errM := f.readFile(procMountinfoPath)
	if errC != nil || errM != nil {
		// Without /proc (early boot, sandboxes) there is no limit we
		// could honour; the affinity mask alone still bounds us.
		return 0, nil
	}
	dir, mount, limit, err := f.locate(string(cgroups), string(mountinfo))
	if err != nil || limit == nil {
		return 0, err
	}
	return minLimit(dir, mount, limit)
}

// locate picks the cgroup directory holding the CPU controller. A v1 cpu
// hierarchy wins over v2 because on hybrid hosts the unified hierarchy is
// mounted but has no cpu controller, so its files say nothing.
func (f cgroupFS) locate(cgroups, mountinfo string) (dir, mount string, limit limitFunc, err error) {
	v1, v2, err := parseProcCgroup(cgroups)
	if err != nil {
		return "", "", nil, fmt.Errorf("parse %s: %w", procCgroupPath, err)
	}
	mounts, err := parseMountinfo(mountinfo)
	if err != nil {
		return "", "", nil, fmt.Errorf("parse %s: %w", procMountinfoPath, err)
	}
	if dir, mount, ok := findCgroupDir(mounts, v1, isV1CPUMount); ok {
		return dir, mount, f.v1Limit, nil
	}
	if dir, mount, ok := findCgroupDir(mounts, v2, isV2Mount); ok {
		return dir, mount, f.v2Limit, nil
	}
	return "", "", nil, nil
}

// minLimit walks from dir up to mount because a parent's limit caps all of
// its children, so the tightest level is the one that binds.
func minLimit(dir, mount string, limit limitFunc) (float64, error) {
	best := 0.0
	for {
		q, err := limit(dir)
		if err != nil {
			return 0, err
		}
		if q > 0 && (best == 0 || q < best) {
			best = q
		}
		if dir == mount || dir == "/" {
			return best, nil
		}
		dir = path.Dir(dir)
	}
}

func (f cgroupFS) v2Limit(dir string) (float64, error) {
	name := path.Join(dir, "cpu.max")
	data, ok, err := f.read(name)
	if !ok || err != nil {
		return 0, err
	}
	q, err := parseCPUMax(data)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", name, err)
	}
	return q, nil
}

func (f cgroupFS) v1Limit(dir string) (float64, error) {
	quota, ok, err := f.readCFS(path.Join(dir, "cpu.cfs_quota_us"), true)
	if !ok || err != nil || quota < 0 {
		return 0, err
	}
	period, ok, err := f.readCFS(path.Join(dir, "cpu.cfs_period_us"), false)
	if !ok || err != nil {
		return 0, err
	}
	return float64(quota) / float64(period), nil
}

// readCFS reads a cpu.cfs_*_us file; ok is false when the file is absent.
func (f cgroupFS) readCFS(name string, allowNoLimit bool) (v int64, ok bool, err error) {
	data, ok, err := f.read(name)
	if !ok || err != nil {
		return 0, false, err
	}
	v, err = parseCFSValue(data, allowNoLimit)
	if err != nil {
		return 0, false, fmt.Errorf("parse %s: %w", name, err)
	}
	return v, true, nil
}

// read reports a missing file as ok=false rather than an error: a level of
// the hierarchy without the controller enabled simply has no limit file.
func (f cgroupFS) read(name string) (data string, ok bool, err error) {
	b, err := f.readFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read CPU limit: %w", err)
	}
	return string(b), true, nil
}

// parseCPUMax parses a cgroup v2 cpu.max file ("max 100000" or
// "150000 100000") into CPUs, 0 meaning no limit.
func parseCPUMax(s string) (float64, error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, fmt.Errorf("want 2 fields, got %d", len(f))
	}
	period, err := parsePositive(f[1])
	if err != nil || f[0] == "max" {
		return 0, err
	}
	quota, err := parsePositive(f[0])
	if err != nil {
		return 0, err
	}
	return float64(quota) / float64(period), nil
}

// parseCFSValue parses a cgroup v1 cpu.cfs_quota_us or cpu.cfs_period_us
// value; -1 is the kernel's "no limit" and only valid for the quota.
func parseCFSValue(s string, allowNoLimit bool) (int64, error) {
	s = strings.TrimSpace(s)
	if allowNoLimit && s == "-1" {
		return -1, nil
	}
	return parsePositive(s)
}

func parsePositive(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, err
	}
	if v <= 0 {
		return 0, fmt.Errorf("value %d is not positive", v)
	}
	return v, nil
}

// parseProcCgroup returns the process's path in the v1 hierarchy carrying
// the cpu controller and in the v2 hierarchy, each empty when absent.
func parseProcCgroup(s string) (v1, v2 string, err error) {
	for line := range strings.SplitSeq(s, "\n") {
		if line == "" {
			continue
		}
		// Split at most twice: cgroup names may themselves contain ':'.
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || !strings.HasPrefix(parts[2], "/") {
			return "", "", fmt.Errorf("malformed line %q", line)
		}
		switch {
		case parts[0] == "0":
			v2 = parts[2]
		case hasCPUOption(parts[1]):
			v1 = parts[2]
		}
	}
	return v1, v2, nil
}

// hasCPUOption matches "cpu" as a whole list element, because "cpuacct" and
// "cpuset" are different controllers.
func hasCPUOption(list string) bool {
	return slices.Contains(strings.Split(list, ","), "cpu")
}

// parseMountinfo returns the cgroup and cgroup2 mounts in s.
func parseMountinfo(s string) ([]cgroupMount, error) {
	var mounts []cgroupMount
	for line := range strings.SplitSeq(s, "\n") {
		if line == "" {
			continue
		}
		m, err := parseMountinfoLine(line)
		if err != nil {
			return nil, err
		}
		if m.fstype == "cgroup" || m.fstype == "cgroup2" {
			mounts = append(mounts, m)
		}
	}
	return mounts, nil
}

// parseMountinfoLine splits at " - " because the optional fields before it
// vary in number; paths never contain a bare space (the kernel escapes it).
func parseMountinfoLine(line string) (cgroupMount, error) {
	pre, post, ok := strings.Cut(line, " - ")
	head := strings.Split(pre, " ")
	// The mount source may be empty, so split on single spaces to keep
	// the super options in the third position.
	tail := strings.Split(post, " ")
	if !ok || len(head) < 6 || len(tail) < 3 {
		return cgroupMount{}, fmt.Errorf("malformed line %q", line)
	}
	root, err := unescapeMountPath(head[3])
	if err != nil {
		return cgroupMount{}, err
	}
	point, err := unescapeMountPath(head[4])
	if err != nil {
		return cgroupMount{}, err
	}
	return cgroupMount{root: root, point: path.Clean(point), fstype: tail[0], superOpts: tail[2]}, nil
}

// unescapeMountPath undoes the kernel's octal escaping (\040 for space,
// \134 for backslash, ...) of paths in mountinfo.
func unescapeMountPath(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+4 > len(s) {
			return "", fmt.Errorf("unescape %q: truncated escape", s)
		}
		v, err := strconv.ParseUint(s[i+1:i+4], 8, 8)
		if err != nil {
			return "", fmt.Errorf("unescape %q: %w", s, err)
		}
		b.WriteByte(byte(v))
		i += 3
	}
	return b.String(), nil
}

func isV1CPUMount(m cgroupMount) bool {
	return m.fstype == "cgroup" && hasCPUOption(m.superOpts)
}

func isV2Mount(m cgroupMount) bool {
	return m.fstype == "cgroup2"
}

// findCgroupDir maps cgroup path cg onto the first matching mount that
// contains it and returns the directory and the mount point that bounds the
// walk up the hierarchy. An empty cg (hierarchy absent) never matches.
func findCgroupDir(mounts []cgroupMount, cg string, match func(cgroupMount) bool) (dir, mount string, ok bool) {
	var fallback string
	for _, m := range mounts {
		if !match(m) {
			continue
		}
		if dir, ok := cgroupDir(m, cg); ok {
			return dir, m.point, true
		}
		if fallback == "" {
			fallback = m.point
		}
	}
	// A process at the root of its cgroup namespace ("/") whose only
	// mount starts deeper (a runtime bind-mounting the container's own
	// cgroup) has no better view of its limit than that mount.
	if cg == "/" && fallback != "" {
		return fallback, fallback, true
	}
	return "", "", false
}

// cgroupDir strips the mount's root from cg; it fails when cg lies outside
// the mount, including namespace-relative paths such as "/../init".
func cgroupDir(m cgroupMount, cg string) (string, bool) {
	rel, ok := cutPathPrefix(cg, m.root)
	if !ok {
		return "", false
	}
	dir := path.Join(m.point, rel)
	if _, inside := cutPathPrefix(dir, m.point); !inside {
		return "", false
	}
	return dir, true
}

// cutPathPrefix is strings.CutPrefix on whole path elements, so "/docker"
// is not a prefix of "/dockerd".
func cutPathPrefix(p, prefix string) (string, bool) {
	switch {
	case prefix == "/":
		return strings.TrimPrefix(p, "/"), strings.HasPrefix(p, "/")
	case p == prefix:
		return "", true
	}
	return strings.CutPrefix(p, prefix+"/")
}
