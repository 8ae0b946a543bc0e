package cassandra

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Hard-link snapshots do by hand what nodetool snapshot does inside
// Cassandra, with the same layout, for a node that is stopped (nodetool
// cannot reach it) and for tests: every regular file of
// <dataDir>/<keyspace>/<table>-<id>/ is linked into
// <table>-<id>/snapshots/<tag>/, and the files of a secondary index folder
// <table>-<id>/.<index>/ into snapshots/<tag>/.<index>/. A link costs no
// space and, unlike the live file, is never removed by compaction, so a
// backup can read it at leisure. Unlike Cassandra, no manifest.json or
// schema.cql is written: a snapshot holds only the node's own files.

// tableDir is one <keyspace>/<table>-<id> folder of a data directory.
type tableDir struct {
	path, keyspace, table string
}

// ValidateTag checks a snapshot tag: it becomes a folder name on the node
// and a nodetool argument, so it must be one path element that cannot be
// read as an option.
func ValidateTag(tag string) error {
	ok := tag != "" && len(tag) <= 255 && !strings.Contains(tag, "..") && tag[0] != '-' && tag[0] != '.'
	for _, c := range []byte(tag) {
		if !ok {
			break
		}
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	if !ok {
		return fmt.Errorf("snapshot tag %q is invalid: use letters, digits, '.', '_' and '-' (at most 255, not starting with '-' or '.', no \"..\")", tag)
	}
	return nil
}

// listTables returns the table folders of the data directories. Hidden
// folders (cassette's own .cassette-aside) and lost+found are not
// keyspaces; symbolic links are not followed, as a hard link cannot cross
// file systems anyway.
func listTables(dataDirs []string) ([]tableDir, error) {
	var tables []tableDir
	for _, dir := range dataDirs {
		keyspaces, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("read data directory: %w (check cassandra.dataDirs)", err)
		}
		for _, ks := range keyspaces {
			if !ks.IsDir() || strings.HasPrefix(ks.Name(), ".") || ks.Name() == "lost+found" {
				continue
			}
			entries, err := os.ReadDir(filepath.Join(dir, ks.Name()))
			if err != nil {
				return nil, fmt.Errorf("read keyspace folder: %w (run cassette as the user that owns the data)", err)
			}
			for _, t := range entries {
				if !t.IsDir() || strings.HasPrefix(t.Name(), ".") {
					continue
				}
				name := t.Name()
				if i := strings.LastIndexByte(name, '-'); i > 0 {
					name = name[:i]
				}
				tables = append(tables, tableDir{filepath.Join(dir, ks.Name(), t.Name()), ks.Name(), name})
			}
		}
	}
	return tables, nil
}

// SnapshotExists reports whether any table of the data directories has a
// snapshots/<tag> folder.
func SnapshotExists(dataDirs []string, tag string) (bool, error) {
	if err := ValidateTag(tag); err != nil {
		return false, err
	}
	tables, err := listTables(dataDirs)
	if err != nil {
		return false, err
	}
	for _, t := range tables {
		if _, err := os.Lstat(filepath.Join(t.path, "snapshots", tag)); err == nil {
			return true, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("look for snapshot %s: %w", tag, err)
		}
	}
	return false, nil
}

// HardlinkSnapshot snapshots the tables keep accepts (all when keep is
// nil) under the tag. It refuses with ErrSnapshotExists when any table,
// kept or not, already has that tag, so that clearing this snapshot later
// cannot remove somebody else's; on failure it removes what it made.
func HardlinkSnapshot(dataDirs []string, tag string, keep func(keyspace, table string) bool) (err error) {
	if exists, err := SnapshotExists(dataDirs, tag); err != nil {
		return err
	} else if exists {
		return fmt.Errorf("hard-link snapshot %s: %w (use another tag, or clear the old snapshot)", tag, ErrSnapshotExists)
	}
	tables, err := listTables(dataDirs)
	if err != nil {
		return err
	}
	var made, roots []string // snapshot folders and snapshots/ folders this call created
	defer func() {
		if err == nil {
			return
		}
		var failed []string
		for _, p := range made {
			if rmErr := os.RemoveAll(p); rmErr != nil {
				failed = append(failed, p)
			}
		}
		for _, p := range roots {
			os.Remove(p) // only if still empty
		}
		if len(failed) > 0 {
			err = fmt.Errorf("%w; also could not remove the partial snapshot in %s: remove it by hand", err, strings.Join(failed, ", "))
		}
	}()
	for _, t := range tables {
		if keep != nil && !keep(t.keyspace, t.table) {
			continue
		}
		root := filepath.Join(t.path, "snapshots")
		if _, err := os.Lstat(root); errors.Is(err, fs.ErrNotExist) {
			roots = append(roots, root)
		}
		if err := linkTable(t.path, filepath.Join(root, tag), &made); err != nil {
			return fmt.Errorf("hard-link snapshot %s of %s.%s: %w", tag, t.keyspace, t.table, err)
		}
	}
	return nil
}

// linkTable links the regular files of table folder src and of its index
// folders into dst, which must not exist yet.
func linkTable(src, dst string, made *[]string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), st.Mode().Perm()); err != nil {
		return err
	}
	if err := os.Mkdir(dst, st.Mode().Perm()); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s appeared meanwhile", ErrSnapshotExists, dst)
		}
		return err
	}
	*made = append(*made, dst)
	return linkFiles(src, dst, true)
}

// linkFiles links the regular files of src into dst and, when withIndexes,
// recurses into hidden index folders; snapshots/ and backups/ are skipped.
func linkFiles(src, dst string, withIndexes bool) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		switch {
		case e.Type().IsRegular():
			if err := os.Link(from, to); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("%w (the file vanished: a hard-link snapshot needs Cassandra stopped; use snapshot: nodetool while it runs)", err)
				}
				return fmt.Errorf("%w (hard-link snapshots need the data on a file system with hard links; else use snapshot: nodetool or none)", err)
			}
		case e.IsDir() && withIndexes && strings.HasPrefix(e.Name(), "."):
			info, err := e.Info()
			if err != nil {
				return err
			}
			if err := os.Mkdir(to, info.Mode().Perm()); err != nil {
				return err
			}
			if err := linkFiles(from, to, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// ClearSnapshot removes every <keyspace>/<table>/snapshots/<tag> folder of
// the data directories; no such folder is not an error.
func ClearSnapshot(dataDirs []string, tag string) error {
	if err := ValidateTag(tag); err != nil {
		return err
	}
	tables, err := listTables(dataDirs)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if err := os.RemoveAll(filepath.Join(t.path, "snapshots", tag)); err != nil {
			return fmt.Errorf("clear snapshot %s: %w (remove it by hand)", tag, err)
		}
	}
	return nil
}
