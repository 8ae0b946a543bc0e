// Command datagen writes a deterministic Cassandra-like data directory
// (generate) or simulates compaction in one (compact). make demo and the
// bench harness use it.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/dustin/go-humanize"

	"github.com/cassette-backup/cassette/bench/datagen"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: datagen generate|compact DIR [flags]")
		os.Exit(2)
	}
	cmd, dir := os.Args[1], os.Args[2]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	seed := fs.Uint64("seed", 1, "random seed (same seed, same bytes)")
	ks := fs.Int("keyspaces", 3, "user keyspaces")
	tables := fs.Int("tables", 4, "tables per keyspace")
	sstables := fs.Int("sstables", 4, "SSTable generations per table")
	size := fs.String("data-size", "1MiB", "average Data.db size")
	compressed := fs.Float64("compressed", 0.5, "fraction of tables with LZ4-like incompressible data")
	fraction := fs.Float64("fraction", 0.3, "compact: fraction of tables compacted")
	fs.Parse(os.Args[3:])
	var (
		st  datagen.Stats
		err error
	)
	switch cmd {
	case "generate":
		var ds uint64
		if ds, err = humanize.ParseBytes(*size); err == nil {
			st, err = datagen.Generate(dir, datagen.Spec{Seed: *seed, Keyspaces: *ks, TablesPerKeyspace: *tables, SSTablesPerTable: *sstables, DataBytes: int64(ds), CompressedFraction: *compressed})
		}
	case "compact":
		st, err = datagen.Compact(dir, *seed, *fraction)
	default:
		err = fmt.Errorf("unknown command %q: use generate or compact", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "datagen:", err)
		os.Exit(1)
	}
	fmt.Printf("datagen %s %s: %d files, %s written\n", cmd, dir, st.Files, humanize.IBytes(uint64(st.Bytes)))
}
