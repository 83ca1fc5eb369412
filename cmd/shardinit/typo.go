package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// mistypedCommand refuses a first argument near a subcommand's name:
// "shardinit stauts" would otherwise run a program called stauts as the
// server (and exit 127). A program of that name still runs after "--",
// where nothing is taken for a subcommand.
func mistypedCommand(c *cli.Context) error {
	arg := c.Args().First()
	if arg == "" {
		return nil
	}
	var names []string
	for _, cmd := range c.App.Commands {
		names = append(names, cmd.Names()...)
	}
	if name := nearest(names, arg); name != "" {
		return usagef("unknown command %q: did you mean %s? (a program of that name runs after --: shardinit [flags] -- %s)", arg, name, arg)
	}
	return nil
}

// nearest is the name s is likely a typo of: at most a third of the
// name's letters off (one for check, two for status), case aside; "" if
// none is. Of two as near, the first.
func nearest(names []string, s string) string {
	s = strings.ToLower(s)
	best, bestDist := "", 0
	for _, name := range names {
		d := editDistance(s, name)
		if d <= len(name)/3 && (best == "" || d < bestDist) {
			best, bestDist = name, d
		}
	}
	return best
}

// editDistance counts the letters to insert, delete, change or swap with
// their neighbour to turn a into b (optimal string alignment), in bytes.
func editDistance(a, b string) int {
	prev2, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
