//go:build !amd64 && !arm64

package accepting

// archWaits: elsewhere only accept4, ppoll and pselect6 are known.
var archWaits = map[int]int{}
