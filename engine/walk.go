package engine

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Cassandra's data directory layout is <keyspace>/<table>-<id>/<component>,
// with secondary indexes in <table>-<id>/.<index>/ and two sub-folders that a
// backup must not pick up: snapshots/ (hard links of other snapshots) and
// backups/ (incremental backups).

// WalkOptions select what a walk visits.
type WalkOptions struct {
	// IncludeSnapshotDirs also visits snapshots/ and backups/ sub-folders.
	IncludeSnapshotDirs bool
	// Filter, when set, keeps only files for which it returns true.
	Filter func(keyspace, table string) bool
	// SnapshotTag, when set, reads every table from its snapshot folder
	// <keyspace>/<table>-<id>/snapshots/<tag>/ instead of the live files,
	// and records each file by its live path, so a restore puts it where
	// Cassandra expects it. Cassandra's own manifest.json and schema.cql in
	// the snapshot folder are not table files and are skipped.
	SnapshotTag string
}

// SourceFile is one file found by a walk.
type SourceFile struct {
	Dir int    // index of the data directory
	Abs string // absolute path on disk
	Rel string // '/'-separated path relative to the data directory
	// Live is the absolute path the file has in the live data directory:
	// Abs, except when reading a snapshot, where Abs is the snapshot's hard
	// link. It names the file across backups (the file cache's key).
	Live string
	Info fs.FileInfo
}

// WalkDataDirs calls fn for every regular file in the data directories, in
// lexical order per directory. Symlinks and other special files are skipped
// with a call to skip (for a warning).
func WalkDataDirs(ctx context.Context, dirs []string, o WalkOptions, fn func(SourceFile) error, skip func(path, why string)) error {
	for di, dir := range dirs {
		absDir, err := filepath.Abs(dir)
		if err != nil {
			return fmt.Errorf("data directory %s: %w", dir, err)
		}
		st, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("data directory %s: %w (check dataDirs / --data-dir)", dir, err)
		}
		if !st.IsDir() {
			return fmt.Errorf("data directory %s is not a directory (check dataDirs / --data-dir)", dir)
		}
		err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("walk %s: %w", p, err)
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			rel, rerr := filepath.Rel(dir, p)
			if rerr != nil {
				return rerr
			}
			if rel == "." {
				return nil
			}
			rel = filepath.ToSlash(rel)
			depth := strings.Count(rel, "/") + 1
			if depth == 1 && d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "lost+found") {
				// Not keyspaces: cassette's own .cassette-aside (tables an
				// in-place restore moved away), file-system folders.
				return fs.SkipDir
			}
			if o.SnapshotTag != "" {
				var keep bool
				if rel, depth, keep = snapshotPath(rel, depth, d.IsDir(), o.SnapshotTag); !keep {
					if d.IsDir() {
						return fs.SkipDir
					}
					return nil
				}
				if d.IsDir() && depth == 3 {
					return nil // snapshots/ and snapshots/<tag>/ themselves
				}
			}
			if d.IsDir() {
				if depth == 3 && !o.IncludeSnapshotDirs && (d.Name() == "snapshots" || d.Name() == "backups") {
					return fs.SkipDir
				}
				if depth == 2 && o.Filter != nil {
					ks, tbl := splitKsTable(rel)
					if !o.Filter(ks, tbl) {
						return fs.SkipDir
					}
				}
				return nil
			}
			if !d.Type().IsRegular() {
				skip(p, "not a regular file")
				return nil
			}
			if depth < 3 {
				skip(p, "not inside a <keyspace>/<table> folder")
				return nil
			}
			info, err := d.Info()
			if err != nil {
				if os.IsNotExist(err) {
					skip(p, "vanished during the walk")
					return nil
				}
				return fmt.Errorf("stat %s: %w", p, err)
			}
			return fn(SourceFile{Dir: di, Abs: p, Rel: rel, Live: filepath.Join(absDir, filepath.FromSlash(rel)), Info: info})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// snapshotPath maps a path met while walking for snapshot tag to the live
// path it stands for: <ks>/<table>/snapshots/<tag>/<rest> becomes
// <ks>/<table>/<rest>. Live files and folders of a table, and other
// snapshots, are not kept. Folders above the table are kept as they are.
func snapshotPath(rel string, depth int, dir bool, tag string) (string, int, bool) {
	if depth <= 2 {
		return rel, depth, dir // keyspace and table folders; stray files go
	}
	parts := strings.SplitN(rel, "/", 5)
	if parts[2] != "snapshots" {
		return rel, depth, false // live files, live index folders, backups/
	}
	if depth == 3 {
		return rel, depth, true // snapshots/
	}
	if parts[3] != tag {
		return rel, depth, false // another snapshot
	}
	if depth == 4 {
		return rel, 3, true // snapshots/<tag>/
	}
	if depth == 5 && !dir && (parts[4] == "manifest.json" || parts[4] == "schema.cql") {
		return rel, depth, false
	}
	return parts[0] + "/" + parts[1] + "/" + parts[4], depth - 2, true
}

// splitKsTable splits "<keyspace>/<table>-<id>[/...]" into keyspace and
// table name.
func splitKsTable(rel string) (string, string) {
	ks, rest, _ := strings.Cut(rel, "/")
	dir, _, _ := strings.Cut(rest, "/")
	if i := strings.LastIndexByte(dir, '-'); i > 0 {
		dir = dir[:i]
	}
	return ks, dir
}

// TableFilter builds a keyspace/table filter from include lists
// ("ks" or "ks.table") and exclude lists; empty includes keep everything.
func TableFilter(keyspaces, tables, excludeKeyspaces []string) func(ks, table string) bool {
	if len(keyspaces) == 0 && len(tables) == 0 && len(excludeKeyspaces) == 0 {
		return nil
	}
	inc := map[string]bool{}
	for _, k := range keyspaces {
		inc[k] = true
	}
	incTbl := map[string]bool{}
	for _, t := range tables {
		incTbl[t] = true
	}
	exc := map[string]bool{}
	for _, k := range excludeKeyspaces {
		exc[k] = true
	}
	return func(ks, table string) bool {
		if exc[ks] {
			return false
		}
		if len(inc) == 0 && len(incTbl) == 0 {
			return true
		}
		if inc[ks] || incTbl[ks+"."+table] {
			return true
		}
		// --table given as a bare name matches it in any keyspace.
		return incTbl[table]
	}
}
