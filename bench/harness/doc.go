// Package harness is cassette's end-to-end benchmark: it starts MinIO on
// 127.0.0.1 behind a counting reverse proxy, generates Cassandra-like node
// data with bench/datagen, runs the cassette CLI and a Medusa-style baseline
// (one object per file, same S3 SDK, same concurrency) as subprocesses on
// the same data, measures each step (wall time, throughput, requests by type,
// bytes moved, peak RSS and CPU seconds of the tool process) and renders the
// results as markdown tables with the targets of issues 3 and 7.
//
// Everything stays on the loopback interface, every step has a time limit,
// and everything started is stopped at the end. bench/cmd/harness is the
// command; its subcommands baseline-backup, baseline-restore and measure run
// the pieces that must be separate processes.
package harness
