//go:build !amd64 && !arm64

package accepting

// archWaits: elsewhere only the calls every architecture has are known.
var archWaits = map[int]int{}
