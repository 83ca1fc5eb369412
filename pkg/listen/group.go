package listen

import (
	"errors"
	"fmt"
	"strings"
)

// ErrOrderUnknown says that a listener cannot tell where its sockets sit
// in their group, so it cannot steer.
var ErrOrderUnknown = errors.New("the order of the SO_REUSEPORT group is unknown")

// group is what a listener knows of its SO_REUSEPORT group.
type group struct {
	pos    []int           // pos[shard]: the index of fds[shard] in the group
	known  bool            // pos is exact
	others map[uint32]bool // the other sockets, by inode, as last seen
	closed map[uint32]bool // ours, closed; still in the group if another process holds them
	why    string          // why the order is not known
	probes int             // how many times the order was probed
	notes  []string        // what changed, for the log (Refresh)
}

// groupChange says what a listener learned of its group.
type groupChange struct {
	listener      string
	joined, left  int   // the other processes' sockets that came and went
	probed, known bool  // the order was probed; it is known
	order         []int // each shard's index in the group
	size          int
	why           string // why the order is not known
}

func (ch groupChange) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "listener %s: ", ch.listener)
	if ch.joined > 0 {
		fmt.Fprintf(&b, "%d sockets of another process joined the SO_REUSEPORT group; ", ch.joined)
	}
	if ch.left > 0 {
		fmt.Fprintf(&b, "%d sockets of another process left the SO_REUSEPORT group; ", ch.left)
	}
	if !ch.known {
		fmt.Fprintf(&b, "%v (%s): new connections are not steered", ErrOrderUnknown, ch.why)
		return b.String()
	}
	how := "followed"
	if ch.probed {
		how = "probed"
	}
	fmt.Fprintf(&b, "shards at %v of the %d sockets in the group (%s)", ch.order, ch.size, how)
	return b.String()
}
