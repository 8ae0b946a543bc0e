package schedule

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cassette-backup/cassette/cmd/internal/fileerr"
	"github.com/cassette-backup/cassette/cmd/internal/suggest"
	"github.com/cassette-backup/cassette/cmd/internal/yamlnode"
)

// The kinds Load reads; documents of other kinds (the MedusaConfiguration
// that may share the file, for example) are skipped.
const (
	kindSchedule     = "MedusaBackupSchedule"
	kindScheduleList = "MedusaBackupScheduleList"
	kindList         = "List"
	apiGroup         = "medusa.k8ssandra.io"
)

var (
	objectKeys     = []string{"apiVersion", "kind", "metadata", "spec", "status"}
	specKeys       = []string{"cronSchedule", "disabled", "backupSpec", "operationType", "concurrencyPolicy"}
	backupSpecKeys = []string{"backupType", "cassandraDatacenter"}
	operations     = []string{OpBackup, OpPurge}
	policies       = []string{Forbid, Allow}
	backupTypes    = []string{TypeDifferential, TypeFull}
	kinds          = []string{kindSchedule, kindScheduleList}
)

// Load reads the schedules in the YAML file path. notes are harmless
// remarks (documents of other kinds skipped, keys cassette does not know and
// ignores) the command may log. Every error is an *Error.
func Load(path string) ([]Schedule, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, errorf(path, 0, "no such file; pass the file that holds the MedusaBackupSchedule objects with --schedules")
		}
		return nil, nil, errorf(path, 0, "cannot read the schedules: %v", err)
	}
	return Parse(path, data)
}

// Parse reads schedules from data; file names it in messages.
func Parse(file string, data []byte) ([]Schedule, []string, error) {
	p := &parser{file: file, seen: map[string]int{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []Schedule
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, p.syntax(err)
		}
		root := yamlnode.Resolve(&doc)
		if yamlnode.IsNull(root) {
			continue // an empty document in a stream
		}
		list, err := p.object(root, "", false)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, list...)
	}
	if len(out) == 0 {
		found := "the file is empty"
		if len(p.skipped) > 0 {
			found = "found only " + strings.Join(p.skipped, ", ")
		}
		return nil, nil, errorf(file, 0, "no schedule: %s; declare kind: %s objects (apiVersion: %s/v1alpha1), one per YAML document or in a List", found, kindSchedule, apiGroup)
	}
	return out, p.notes, nil
}

type parser struct {
	file    string
	notes   []string
	skipped []string
	seen    map[string]int // schedule name -> line
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntax turns a YAML syntax error into an *Error with its line.
func (p *parser) syntax(err error) error {
	msg := fileerr.OneLine(err.Error())
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return errorf(p.file, line, "not valid YAML (%s); fix the syntax", m[2])
	}
	return errorf(p.file, 0, "not valid YAML (%s); fix the syntax", strings.TrimPrefix(msg, "yaml: "))
}

func (p *parser) note(line int, format string, args ...any) {
	p.notes = append(p.notes, fmt.Sprintf("%s:%d: ", p.file, line)+fmt.Sprintf(format, args...))
}

// object reads one Kubernetes object: a schedule, or a list of them. inList
// is set for the items of a MedusaBackupScheduleList, whose kind may be left
// out.
func (p *parser) object(n *yaml.Node, where string, inList bool) ([]Schedule, error) {
	if n.Kind != yaml.MappingNode {
		return nil, errorf(p.file, n.Line, "%sexpected a %s object (a map of keys), found %s", where, kindSchedule, yamlnode.KindName(n))
	}
	kindNode := yamlnode.MappingValue(n, "kind")
	kind := yamlnode.Scalar(kindNode)
	switch {
	case kind == kindSchedule, kind == "" && inList:
		s, err := p.schedule(n, where)
		if err != nil {
			return nil, err
		}
		return []Schedule{s}, nil
	case kind == kindScheduleList || kind == kindList:
		return p.list(n, where, kind == kindScheduleList)
	case kind == "" && yamlnode.MappingValue(n, "apiVersion") == nil && yamlnode.MappingValue(n, "spec") != nil:
		// A bare schedule: metadata and spec without the Kubernetes header.
		s, err := p.schedule(n, where)
		if err != nil {
			return nil, err
		}
		return []Schedule{s}, nil
	case kind == "":
		p.skipped = append(p.skipped, "a document without kind")
		return nil, nil
	}
	if s := suggest.Hint(kind, kinds); s != "" {
		return nil, errorf(p.file, kindNode.Line, "%sunknown kind %q%s", where, kind, s)
	}
	p.skipped = append(p.skipped, "kind "+kind)
	return nil, nil
}

// list reads the items of a List or MedusaBackupScheduleList.
func (p *parser) list(n *yaml.Node, where string, typed bool) ([]Schedule, error) {
	items := yamlnode.Resolve(yamlnode.MappingValue(n, "items"))
	if yamlnode.IsNull(items) {
		return nil, nil
	}
	if items.Kind != yaml.SequenceNode {
		return nil, errorf(p.file, items.Line, "%sitems must be a list of %s objects, found %s", where, kindSchedule, yamlnode.KindName(items))
	}
	var out []Schedule
	for i, it := range items.Content {
		it = yamlnode.Resolve(it)
		if yamlnode.IsNull(it) {
			continue
		}
		list, err := p.object(it, fmt.Sprintf("%sitems[%d]: ", where, i), typed)
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
	}
	return out, nil
}

// schedule reads one MedusaBackupSchedule object.
func (p *parser) schedule(n *yaml.Node, where string) (Schedule, error) {
	s := Schedule{File: p.file, Line: n.Line, Operation: OpBackup, BackupType: TypeDifferential, Concurrency: Forbid}
	var spec, meta *yaml.Node
	err := p.pairs(n, where, func(key string, k, v *yaml.Node) error {
		switch key {
		case "apiVersion":
			api := yamlnode.Scalar(v)
			if api != "" && !strings.HasPrefix(api, apiGroup+"/") {
				return errorf(p.file, v.Line, "%sapiVersion %q is not a Medusa API version; a %s is %s/v1alpha1", where, api, kindSchedule, apiGroup)
			}
		case "metadata":
			meta = v
		case "spec":
			spec = v
		case "kind", "status":
		default:
			return p.unknown(where, "", key, k, objectKeys)
		}
		return nil
	})
	if err != nil {
		return s, err
	}
	nameLine, err := p.metadata(meta, n.Line, where, &s)
	if err != nil {
		return s, err
	}
	where = fmt.Sprintf("%sschedule %q: ", where, s.Name)
	if first, dup := p.seen[s.Name]; dup {
		return s, errorf(p.file, nameLine, "%sthe name is used twice (first on line %d); give each schedule its own name, it prefixes its backups' names", where, first)
	}
	p.seen[s.Name] = nameLine
	spec = yamlnode.Resolve(spec)
	if yamlnode.IsNull(spec) || spec.Kind != yaml.MappingNode {
		return s, errorf(p.file, s.Line, "%sspec is missing or not a map; set spec.cronSchedule (and spec.backupSpec.backupType)", where)
	}
	cronLine := spec.Line
	err = p.pairs(spec, where, func(key string, k, v *yaml.Node) error {
		switch key {
		case "cronSchedule":
			cronLine = k.Line
			if v.Kind != yaml.ScalarNode {
				return errorf(p.file, v.Line, "%sspec.cronSchedule must be a string such as \"30 1 * * *\", found %s", where, yamlnode.KindName(v))
			}
			s.Cron = v.Value
		case "disabled":
			b, err := p.boolValue(v, where, "spec.disabled")
			s.Disabled = b
			return err
		case "backupSpec":
			return p.backupSpec(v, where, &s)
		case "operationType":
			return p.enum(v, where, "spec.operationType", "an operation", operations, &s.Operation)
		case "concurrencyPolicy":
			if strings.EqualFold(yamlnode.Scalar(v), "Replace") {
				return errorf(p.file, v.Line, "%sspec.concurrencyPolicy Replace is not supported: cassette does not cancel a running backup to start the next; use Forbid (the next run waits) or Allow (runs may overlap)", where)
			}
			return p.enum(v, where, "spec.concurrencyPolicy", "a concurrency policy", policies, &s.Concurrency)
		default:
			return p.unknown(where, "spec.", key, k, specKeys)
		}
		return nil
	})
	if err != nil {
		return s, err
	}
	spec2, msg := parseCron(s.Cron)
	if msg != "" {
		return s, errorf(p.file, cronLine, "%s%s", where, msg)
	}
	s.spec = spec2
	return s, nil
}

// metadata reads metadata.name; it returns the name's line.
func (p *parser) metadata(meta *yaml.Node, line int, where string, s *Schedule) (int, error) {
	meta = yamlnode.Resolve(meta)
	if !yamlnode.IsNull(meta) && meta.Kind != yaml.MappingNode {
		return line, errorf(p.file, meta.Line, "%smetadata must be a map with a name, found %s", where, yamlnode.KindName(meta))
	}
	nameNode := yamlnode.Resolve(yamlnode.MappingValue(meta, "name"))
	if nameNode != nil {
		line = nameNode.Line
	}
	s.Name = strings.TrimSpace(yamlnode.Scalar(nameNode))
	if msg := checkName(s.Name); msg != "" {
		return line, errorf(p.file, line, "%s%s", where, msg)
	}
	return line, nil
}

func (p *parser) backupSpec(v *yaml.Node, where string, s *Schedule) error {
	v = yamlnode.Resolve(v)
	if yamlnode.IsNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		return errorf(p.file, v.Line, "%sspec.backupSpec must be a map (backupType: differential or full), found %s", where, yamlnode.KindName(v))
	}
	return p.pairs(v, where, func(key string, k, val *yaml.Node) error {
		switch key {
		case "backupType":
			return p.enum(val, where, "spec.backupSpec.backupType", "a backup type", backupTypes, &s.BackupType)
		case "cassandraDatacenter":
			return nil // the operator's business: cassette backs up this node
		}
		return p.unknown(where, "spec.backupSpec.", key, k, backupSpecKeys)
	})
}

// unknown handles a key cassette does not know: a likely typo of a known key
// is an error, anything else (fields newer operators may add) a note.
func (p *parser) unknown(where, section, key string, k *yaml.Node, known []string) error {
	if s := suggest.Hint(key, known); s != "" {
		return errorf(p.file, k.Line, "%sunknown key %s%s%s", where, section, key, s)
	}
	p.note(k.Line, "%s%s%s is not a key cassette knows; ignored", where, section, key)
	return nil
}

// enum reads a value that must be one of allowed (case-insensitively) into
// dst, spelled as in allowed. An empty value keeps the default.
func (p *parser) enum(v *yaml.Node, where, key, what string, allowed []string, dst *string) error {
	v = yamlnode.Resolve(v)
	if yamlnode.IsNull(v) {
		return nil
	}
	val := strings.TrimSpace(yamlnode.Scalar(v))
	if v.Kind != yaml.ScalarNode {
		return errorf(p.file, v.Line, "%s%s must be one of %s, found %s", where, key, strings.Join(allowed, ", "), yamlnode.KindName(v))
	}
	if val == "" {
		return nil
	}
	for _, a := range allowed {
		if strings.EqualFold(val, a) {
			*dst = a
			return nil
		}
	}
	return errorf(p.file, v.Line, "%s%s %q is not %s%s; use %s", where, key, val, what, suggest.Hint(val, allowed), orList(allowed))
}

func (p *parser) boolValue(v *yaml.Node, where, key string) (bool, error) {
	v = yamlnode.Resolve(v)
	if yamlnode.IsNull(v) {
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(yamlnode.Scalar(v))) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errorf(p.file, v.Line, "%s%s must be true or false, found %q", where, key, v.Value)
}

// pairs calls fn for each key of mapping n, rejecting duplicate and
// non-scalar keys.
func (p *parser) pairs(n *yaml.Node, where string, fn func(key string, k, v *yaml.Node) error) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := yamlnode.Resolve(n.Content[i]), yamlnode.Resolve(n.Content[i+1])
		if k == nil || k.Kind != yaml.ScalarNode {
			return errorf(p.file, n.Content[i].Line, "%sa key is not a plain name; write keys as name: value", where)
		}
		if first, dup := seen[k.Value]; dup {
			return errorf(p.file, k.Line, "%s%s is set twice (first on line %d); keep one", where, k.Value, first)
		}
		seen[k.Value] = k.Line
		if v == nil {
			v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: k.Line}
		}
		if err := fn(k.Value, k, v); err != nil {
			return err
		}
	}
	return nil
}

func orList(vals []string) string {
	if len(vals) == 2 {
		return vals[0] + " or " + vals[1]
	}
	return strings.Join(vals, ", ")
}
