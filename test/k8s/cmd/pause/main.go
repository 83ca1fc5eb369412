// Command pause is the sandbox process of the e2e cluster's pods: it holds
// the pod's namespaces and waits to be told to stop. The node is offline,
// so its image is built from this file instead of pulled.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	// Reap nothing: pods here do not share their PID namespace.
	<-stop
}
