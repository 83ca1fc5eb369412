// Command checkshim refuses an LD_PRELOAD shim built for another
// architecture than the one it is to be embedded for:
//
//	go run ./internal/preload/checkshim FILE GOARCH
package main

import (
	"fmt"
	"os"

	"github.com/shardinit/shardinit/internal/preload"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: checkshim FILE GOARCH")
		os.Exit(2)
	}
	lib, err := os.ReadFile(os.Args[1])
	if err == nil {
		err = preload.CheckMachine(lib, os.Args[2])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "checkshim: %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
