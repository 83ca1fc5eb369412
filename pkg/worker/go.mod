module github.com/shardinit/shardinit/pkg/worker

// Old enough for the Go a worker is built with: the SDK uses nothing newer.
go 1.22
