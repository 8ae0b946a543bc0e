// Package datagen writes deterministic Cassandra-like data directories for
// demos, tests and benchmarks: keyspaces, tables with real SSTable component
// names, compressed (incompressible) and uncompressed (text-like) tables,
// a secondary index folder, snapshots/ and backups/ folders a backup must
// skip, and a Compact step that replaces SSTables the way compaction does.
// Data is streamed to disk: memory does not grow with the size generated.
package datagen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Spec describes a data directory.
type Spec struct {
	Seed              uint64
	Keyspaces         int   // user keyspaces (system_schema is always added)
	TablesPerKeyspace int   // tables per keyspace
	SSTablesPerTable  int   // live SSTable generations per table
	DataBytes         int64 // average Data.db size
	// CompressedFraction of tables hold LZ4-like incompressible Data.db;
	// the rest hold text-like rows that compress well.
	CompressedFraction float64
}

// Stats counts what was written.
type Stats struct {
	Files int
	Bytes int64
}

func (s *Stats) add(o Stats) { s.Files += o.Files; s.Bytes += o.Bytes }

// components of a "big" format SSTable, Data.db first.
var components = []string{"Data.db", "Index.db", "Summary.db", "Filter.db", "Statistics.db", "CompressionInfo.db", "Digest.crc32", "TOC.txt"}

type table struct {
	ks, name, dir string
	compressed    bool
}

func tables(root string, sp Spec) []table {
	rng := rand.New(rand.NewPCG(sp.Seed, 0x7ab1e5))
	var out []table
	for k := 0; k < sp.Keyspaces; k++ {
		ks := fmt.Sprintf("ks%d", k+1)
		for t := 0; t < sp.TablesPerKeyspace; t++ {
			name := fmt.Sprintf("table%d", t+1)
			id := fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
			out = append(out, table{ks: ks, name: name, dir: filepath.Join(root, ks, name+"-"+id), compressed: rng.Float64() < sp.CompressedFraction})
		}
	}
	for _, name := range []string{"tables", "columns", "keyspaces"} {
		id := fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
		out = append(out, table{ks: "system_schema", name: name, dir: filepath.Join(root, "system_schema", name+"-"+id)})
	}
	return out
}

// Generate writes a fresh data directory under root.
func Generate(root string, sp Spec) (Stats, error) {
	var st Stats
	rng := rand.New(rand.NewPCG(sp.Seed, 1))
	for ti, t := range tables(root, sp) {
		if err := os.MkdirAll(t.dir, 0o755); err != nil {
			return st, err
		}
		size := sp.DataBytes
		n := sp.SSTablesPerTable
		if t.ks == "system_schema" {
			size, n = 4<<10, 1
		}
		for g := 1; g <= n; g++ {
			s, err := writeSSTable(t, g, size/2+rng.Int64N(size+1), rng)
			if err != nil {
				return st, err
			}
			st.add(s)
		}
		if ti == 0 {
			// A secondary index lives in a dot-folder of its table.
			idx := table{ks: t.ks, name: t.name, dir: filepath.Join(t.dir, ".idx_"+t.name+"_value"), compressed: t.compressed}
			if err := os.MkdirAll(idx.dir, 0o755); err != nil {
				return st, err
			}
			s, err := writeSSTable(idx, 1, size/4+1, rng)
			if err != nil {
				return st, err
			}
			st.add(s)
			// snapshots/ and backups/ must not be picked up by a backup.
			for _, sub := range []string{"snapshots/old-snapshot", "backups"} {
				d := filepath.Join(t.dir, sub)
				if err := os.MkdirAll(d, 0o755); err != nil {
					return st, err
				}
				if err := os.WriteFile(filepath.Join(d, "nb-99-big-Data.db"), []byte("must not be backed up\n"), 0o644); err != nil {
					return st, err
				}
			}
		}
	}
	return st, nil
}

// writeSSTable writes every component of generation gen.
func writeSSTable(t table, gen int, dataSize int64, rng *rand.Rand) (Stats, error) {
	var st Stats
	prefix := filepath.Join(t.dir, "nb-"+strconv.Itoa(gen)+"-big-")
	for _, c := range components {
		var size int64
		switch c {
		case "Data.db":
			size = dataSize
		case "Index.db":
			size = dataSize/50 + 64
		case "Summary.db":
			size = 64 + rng.Int64N(512)
		case "Filter.db":
			size = dataSize/200 + 16
		case "Statistics.db":
			size = 4000 + rng.Int64N(2000)
		case "CompressionInfo.db":
			if !t.compressed {
				continue
			}
			size = dataSize/8000 + 47
		case "Digest.crc32":
			size = 10
		}
		var err error
		if c == "TOC.txt" {
			err = os.WriteFile(prefix+c, []byte(strings.Join(components, "\n")+"\n"), 0o644)
			size = int64(len(strings.Join(components, "\n")) + 1)
		} else {
			err = writeFile(prefix+c, size, t.compressed || c != "Data.db", rng)
		}
		if err != nil {
			return st, err
		}
		st.Files++
		st.Bytes += size
	}
	return st, nil
}

// writeFile streams size bytes: random (incompressible, as LZ4 output is)
// or text-like rows.
func writeFile(path string, size int64, random bool, rng *rand.Rand) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if random {
		_, err = io.CopyN(w, randReader{rng}, size)
	} else {
		_, err = io.CopyN(w, &rowReader{rng: rng}, size)
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

type randReader struct{ rng *rand.Rand }

func (r randReader) Read(p []byte) (int, error) {
	i := 0
	for ; i+8 <= len(p); i += 8 {
		v := r.rng.Uint64()
		for j := 0; j < 8; j++ {
			p[i+j] = byte(v >> (8 * j))
		}
	}
	for ; i < len(p); i++ {
		p[i] = byte(r.rng.Uint32())
	}
	return len(p), nil
}

var words = strings.Fields("alpha beta gamma delta user_id session event timestamp status active inactive region eu-west us-east payload device sensor reading temperature humidity")

// rowReader produces text-like rows, as an uncompressed table holds.
type rowReader struct {
	rng *rand.Rand
	buf []byte
}

func (r *rowReader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) {
		r.buf = fmt.Appendf(r.buf, "%08d|%s|%s|%d|%s\n", r.rng.IntN(1e8), words[r.rng.IntN(len(words))], words[r.rng.IntN(len(words))], r.rng.IntN(1e6), words[r.rng.IntN(len(words))])
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Compact simulates a day of compaction and flushes: in about fraction of
// the user tables, the two oldest SSTables are replaced by one merged
// generation (text tables keep their rows, so chunks repeat; compressed
// tables are rewritten, as LZ4 output changes), and a small new flush is
// added. It returns what was added.
func Compact(root string, seed uint64, fraction float64) (Stats, error) {
	var st Stats
	rng := rand.New(rand.NewPCG(seed, 2))
	kss, err := os.ReadDir(root)
	if err != nil {
		return st, err
	}
	for _, ks := range kss {
		if !ks.IsDir() || ks.Name() == "system_schema" {
			continue
		}
		tdirs, err := os.ReadDir(filepath.Join(root, ks.Name()))
		if err != nil {
			return st, err
		}
		for _, td := range tdirs {
			if rng.Float64() >= fraction {
				continue
			}
			s, err := compactTable(filepath.Join(root, ks.Name(), td.Name()), rng)
			if err != nil {
				return st, err
			}
			st.add(s)
		}
	}
	return st, nil
}

func compactTable(dir string, rng *rand.Rand) (Stats, error) {
	var st Stats
	gens, err := generations(dir)
	if err != nil || len(gens) < 2 {
		return st, err
	}
	_, err = os.Stat(filepath.Join(dir, fmt.Sprintf("nb-%d-big-CompressionInfo.db", gens[0])))
	compressed := err == nil
	t := table{dir: dir, compressed: compressed}
	next := gens[len(gens)-1] + 1
	// Merge the two oldest generations into one.
	merged := filepath.Join(dir, fmt.Sprintf("nb-%d-big-Data.db", next))
	var size int64
	for _, g := range gens[:2] {
		fi, err := os.Stat(filepath.Join(dir, fmt.Sprintf("nb-%d-big-Data.db", g)))
		if err != nil {
			return st, err
		}
		size += fi.Size()
	}
	s, err := writeSSTable(t, next, size, rng)
	if err != nil {
		return st, err
	}
	if !compressed {
		// Rows survive compaction: the merged file holds the old rows.
		if err := concat(merged, filepath.Join(dir, fmt.Sprintf("nb-%d-big-Data.db", gens[0])), filepath.Join(dir, fmt.Sprintf("nb-%d-big-Data.db", gens[1]))); err != nil {
			return st, err
		}
	}
	st.add(s)
	for _, g := range gens[:2] {
		matches, _ := filepath.Glob(filepath.Join(dir, fmt.Sprintf("nb-%d-big-*", g)))
		for _, m := range matches {
			if err := os.Remove(m); err != nil {
				return st, err
			}
		}
	}
	// And a fresh memtable flush.
	s, err = writeSSTable(t, next+1, 64<<10+rng.Int64N(256<<10), rng)
	st.add(s)
	return st, err
}

func concat(dst string, srcs ...string) error {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, s := range srcs {
		in, err := os.Open(s)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, in)
		in.Close()
		if err != nil {
			return err
		}
	}
	return f.Sync()
}

func generations(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var gens []int
	for _, e := range ents {
		n := e.Name()
		if strings.HasSuffix(n, "-big-Data.db") && strings.HasPrefix(n, "nb-") {
			if g, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(n, "nb-"), "-big-Data.db")); err == nil {
				gens = append(gens, g)
			}
		}
	}
	sort.Ints(gens)
	return gens, nil
}
