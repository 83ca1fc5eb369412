// Package gobench holds shardinit's Go benchmarks (testing.B) for the
// control paths whose cost grows with the number of workers: spawning a
// pool, reaping an orphan storm, and scraping /metrics and /status. They
// use only the exported APIs of pkg/spawn, pkg/health and pkg/listen.
//
// bench/run.sh runs them (section gobench); `make test` compiles them but
// runs no benchmark, and none asserts a time:
//
//	go test -run '^$' -bench . -benchmem ./bench/gobench/
//
// BENCH_ORPHANS sets the size of the orphan storm (default 10000);
// BENCH_SPAWN_N the pool sizes (default "1 8 32 128").
package gobench
