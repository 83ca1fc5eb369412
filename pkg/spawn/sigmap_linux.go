package spawn

import (
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// action is what the supervisor does with a signal it receives.
type action int

const (
	forward   action = iota // to every worker's process group (as itself, or as another signal)
	stop                    // graceful stop of the whole pool
	restart                 // rolling restart of every slot
	scaleUp                 // one slot more
	scaleDown               // one slot less
	ignore                  // nothing
	reap                    // a child changed state (SIGCHLD only)
)

var actionNames = map[string]action{"forward": forward, "stop": stop, "restart": restart,
	"scale-up": scaleUp, "scale-down": scaleDown, "ignore": ignore}

// Route is the action for one signal; As is the signal a forward sends
// (zero: the same one).
type Route struct {
	action action
	As     unix.Signal
}

// SignalMap says what each signal does. Signals it does not name are
// forwarded to the workers.
type SignalMap map[unix.Signal]Route

// fixed are the signals no map may change: SIGCHLD drives reaping;
// SIGPIPE comes from shardinit's own writes to a closed pipe, and fault
// signals belong to the process that faulted, so passing them on would
// kill healthy workers.
var fixed = SignalMap{
	unix.SIGCHLD: {action: reap},
	unix.SIGPIPE: {action: ignore}, unix.SIGSEGV: {action: ignore}, unix.SIGBUS: {action: ignore},
	unix.SIGFPE: {action: ignore}, unix.SIGILL: {action: ignore}, unix.SIGTRAP: {action: ignore},
	unix.SIGSYS: {action: ignore},
}

// DefaultSignalMap: TERM and INT stop, HUP restarts, TTIN and TTOU scale
// up and down, everything else is forwarded.
func DefaultSignalMap() SignalMap {
	m := SignalMap{
		unix.SIGTERM: {action: stop}, unix.SIGINT: {action: stop}, unix.SIGHUP: {action: restart},
		unix.SIGTTIN: {action: scaleUp}, unix.SIGTTOU: {action: scaleDown},
	}
	for sig, r := range fixed {
		m[sig] = r
	}
	return m
}

// ParseSignalMap reads "HUP=restart,USR2=forward,QUIT=forward:TERM,WINCH=ignore"
// over the defaults. Actions: stop, restart, scale-up, scale-down, forward,
// forward:SIG, ignore.
func ParseSignalMap(s string) (SignalMap, error) {
	m := DefaultSignalMap()
	for _, entry := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		name, act, ok := strings.Cut(entry, "=")
		if !ok {
			return nil, fmt.Errorf("signal-map %q: want SIGNAL=ACTION", entry)
		}
		sig, err := ParseSignal(name)
		if err != nil {
			return nil, fmt.Errorf("signal-map: %w", err)
		}
		if err := remappable(sig); err != nil {
			return nil, fmt.Errorf("signal-map %q: %w", entry, err)
		}
		r, err := parseRoute(act)
		if err != nil {
			return nil, fmt.Errorf("signal-map %q: %w", entry, err)
		}
		m[sig] = r
	}
	return m, nil
}

func remappable(sig unix.Signal) error {
	switch {
	case sig == unix.SIGKILL || sig == unix.SIGSTOP:
		return fmt.Errorf("%s cannot be caught", SignalName(sig))
	case reservedBy(sig) != "":
		return fmt.Errorf("%s %s", SignalName(sig), reservedBy(sig))
	case sig == unix.SIGCHLD:
		return fmt.Errorf("SIGCHLD is never remapped (it drives reaping)")
	case fixed[sig] != Route{}:
		return fmt.Errorf("%s is never remapped (shardinit's own pipes and faults raise it)", SignalName(sig))
	}
	return nil
}

func parseRoute(s string) (Route, error) {
	if as, ok := strings.CutPrefix(s, "forward:"); ok {
		sig, err := ParseSignal(as)
		if err != nil {
			return Route{}, err
		}
		if owner := reservedBy(sig); owner != "" {
			return Route{}, fmt.Errorf("%s %s", SignalName(sig), owner)
		}
		return Route{action: forward, As: sig}, nil
	}
	a, ok := actionNames[s]
	if !ok {
		return Route{}, fmt.Errorf("unknown action %q (want stop, restart, scale-up, scale-down, forward, forward:SIG or ignore)", s)
	}
	return Route{action: a}, nil
}

// route looks sig up; a signal the map does not name is forwarded.
func (m SignalMap) route(sig unix.Signal) Route {
	if r, ok := m[sig]; ok {
		return r
	}
	return Route{action: forward}
}

// RestartSignal is the signal that starts a rolling restart (the first by
// number when several do); 0 if none does.
func (m SignalMap) RestartSignal() unix.Signal {
	var found unix.Signal
	for sig, r := range m {
		if r.action == restart && (found == 0 || sig < found) {
			found = sig
		}
	}
	return found
}

// String lists the map as --signal-map takes it (ParseSignalMap reads it
// back).
func (m SignalMap) String() string {
	var parts []string
	for sig, r := range m {
		if fixed[sig] != (Route{}) {
			continue
		}
		name := strings.TrimPrefix(SignalName(sig), "SIG")
		act := ""
		for n, a := range actionNames {
			if a == r.action {
				act = n
			}
		}
		if r.As != 0 {
			act += ":" + strings.TrimPrefix(SignalName(r.As), "SIG")
		}
		parts = append(parts, name+"="+act)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
