package config

import (
	"strings"
)

// iniFile is a parsed INI file, read the way Python's configparser reads
// medusa.ini (with interpolation off): [section] headers, "key = value" or
// "key: value" entries, whole-line comments starting with '#' or ';',
// continuation lines indented deeper than their key, keys case-insensitive,
// values kept as written (no inline comments, no quote stripping), and a
// DEFAULT section whose keys every other section inherits.
type iniFile struct {
	sections []*iniSection
	byName   map[string]*iniSection
}

// iniSection is one [section] of an iniFile.
type iniSection struct {
	name    string
	line    int
	entries []*iniEntry
	byKey   map[string]*iniEntry
}

// iniEntry is one key of a section.
type iniEntry struct {
	key   string // lower-cased
	value string
	line  int
}

// iniDefault is configparser's section inherited by all others.
const iniDefault = "DEFAULT"

// parseINI parses data. Errors are *Error values naming file and line and
// never quote the line, which may hold a password.
func parseINI(file string, data []byte) (*iniFile, error) {
	f := &iniFile{byName: make(map[string]*iniSection)}
	text := strings.TrimPrefix(string(data), "\ufeff")
	var cur *iniSection
	var last *iniEntry
	lastIndent := 0
	for i, raw := range strings.Split(text, "\n") {
		lineNo := i + 1
		line := strings.TrimRight(raw, "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " \t"))
		if last != nil && indent > lastIndent {
			last.value += "\n" + trimmed // continuation of a multi-line value
			continue
		}
		if trimmed[0] == '[' {
			end := strings.LastIndexByte(trimmed, ']')
			name := ""
			if end > 0 {
				name = strings.TrimSpace(trimmed[1:end])
			}
			if name == "" {
				return nil, errorf(file, lineNo, "", "malformed section header; write it as [name]")
			}
			if name != iniDefault {
				name = strings.ToLower(name)
			}
			if prev, dup := f.byName[name]; dup {
				return nil, errorf(file, lineNo, "["+name+"]", "section [%s] appears twice (first on line %d); merge them", name, prev.line)
			}
			cur = &iniSection{name: name, line: lineNo, byKey: make(map[string]*iniEntry)}
			f.sections = append(f.sections, cur)
			f.byName[name] = cur
			last = nil
			continue
		}
		if cur == nil {
			return nil, errorf(file, lineNo, "", "setting before any [section] header; put it under [storage] or [cassandra]")
		}
		cut := strings.IndexAny(trimmed, "=:")
		if cut <= 0 {
			return nil, errorf(file, lineNo, "["+cur.name+"]", "expected \"key = value\" in [%s]", cur.name)
		}
		key := strings.ToLower(strings.TrimSpace(trimmed[:cut]))
		if prev, dup := cur.byKey[key]; dup {
			return nil, errorf(file, lineNo, "["+cur.name+"] "+key, "[%s] %s is set twice (first on line %d); keep one", cur.name, key, prev.line)
		}
		e := &iniEntry{key: key, value: strings.TrimSpace(trimmed[cut+1:]), line: lineNo}
		cur.entries = append(cur.entries, e)
		cur.byKey[key] = e
		last, lastIndent = e, indent
	}
	return f, nil
}

// section returns the named section, or nil.
func (f *iniFile) section(name string) *iniSection { return f.byName[name] }

// lookup returns a key of a section, falling back to DEFAULT.
func (f *iniFile) lookup(section, key string) (*iniEntry, bool) {
	if s := f.byName[section]; s != nil {
		if e, ok := s.byKey[key]; ok {
			return e, true
		}
	}
	if s := f.byName[iniDefault]; s != nil {
		if e, ok := s.byKey[key]; ok {
			return e, true
		}
	}
	return nil, false
}

// keys returns every key a section has, its own and inherited from
// DEFAULT, in file order (own first).
func (f *iniFile) keys(section string) []*iniEntry {
	var out []*iniEntry
	s := f.byName[section]
	if s != nil {
		out = append(out, s.entries...)
	}
	if d := f.byName[iniDefault]; d != nil && section != iniDefault {
		for _, e := range d.entries {
			if s == nil || s.byKey[e.key] == nil {
				out = append(out, e)
			}
		}
	}
	return out
}

// looksLikeINI reports whether data is an INI file: it has a [storage]
// header at the start of a line, or its first meaningful line is a
// [section] header (a YAML config never starts with a flow list).
func looksLikeINI(data []byte) bool {
	first := true
	for _, raw := range strings.Split(strings.TrimPrefix(string(data), "\ufeff"), "\n") {
		t := strings.TrimSpace(raw)
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		if isSectionHeader(t) && (first || (strings.EqualFold(t, "[storage]") && raw[0] == '[')) {
			return true
		}
		first = false
	}
	return false
}

// isSectionHeader reports whether t is "[name]" with a plain name.
func isSectionHeader(t string) bool {
	if len(t) < 3 || t[0] != '[' || t[len(t)-1] != ']' {
		return false
	}
	for _, r := range t[1 : len(t)-1] {
		ok := r == '_' || r == '-' || r == ' ' || r == '.' ||
			('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}
