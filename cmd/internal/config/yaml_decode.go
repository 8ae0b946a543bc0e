package config

import (
	"encoding/base64"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cassette-backup/cassette/cmd/internal/yamlnode"
	"github.com/cassette-backup/cassette/providers"
)

// redactedValue is what a secret prints as; finding it in a file means the
// file is `config show` output whose secrets were never filled in.
const redactedValue = "[redacted]"

// decoder walks yaml.Node trees into structs by their yaml tags, so that it
// can reject unknown keys with a suggestion, report lines, and accept the
// spellings operators use ("False", "9000" as a string).
type decoder struct {
	file string
}

// extraFunc handles a key that is not a field of the struct being decoded;
// it returns false when the key is unknown.
type extraFunc func(key string, keyNode, val *yaml.Node) (bool, error)

// yamlFields maps a struct type's yaml names to field indexes, skipping
// fields tagged "-" or untagged.
func yamlFields(t reflect.Type) (map[string]int, []string) {
	m := make(map[string]int)
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		m[name] = i
		names = append(names, name)
	}
	return m, names
}

// mappingValue returns the value node of key in mapping n (or in the
// mapping a document node holds), or nil. Unlike yamlnode.MappingValue it
// does not follow aliases to find the mapping.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// isNull reports whether n is absent or an explicit null ("key:" alone).
// Unlike yamlnode.IsNull an empty document is not null here; config keeps
// its own so that what it accepts and reports does not change.
func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// mapping returns n as a mapping (nil for an explicit null) or an error
// naming section.
func (d *decoder) mapping(n *yaml.Node, section string) (*yaml.Node, error) {
	n = yamlnode.Resolve(n)
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, errorf(d.file, n.Line, section, "%s must be a map of keys, found %s; indent its keys under %q", section, yamlnode.KindName(n), section+":")
	}
	return n, nil
}

// pairs calls fn for each key of mapping n, rejecting duplicate and
// non-scalar keys.
func (d *decoder) pairs(n *yaml.Node, section string, fn func(key string, k, v *yaml.Node) error) error {
	if n == nil {
		return nil
	}
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := yamlnode.Resolve(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			return errorf(d.file, n.Content[i].Line, section, "%s has a key that is not a plain name; write keys as name: value", section)
		}
		if k.Value == "<<" {
			return errorf(d.file, k.Line, section, "%s uses a YAML merge key (<<), which cassette does not read; write the keys out", section)
		}
		if first, dup := seen[k.Value]; dup {
			return errorf(d.file, k.Line, join(section, k.Value), "%s is set twice (first on line %d); keep one", join(section, k.Value), first)
		}
		seen[k.Value] = k.Line
		if err := fn(k.Value, k, v); err != nil {
			return err
		}
	}
	return nil
}

// join builds a dotted key path.
func join(section, key string) string {
	if section == "" {
		return key
	}
	return section + "." + key
}

// decodeStruct fills the struct v from the mapping node n. section names
// the mapping in messages; extra (may be nil) handles non-field keys.
func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, section string, extra extraFunc, aliases map[string]string) error {
	m, err := d.mapping(n, section)
	if err != nil || m == nil {
		return err
	}
	fields, names := yamlFields(v.Type())
	return d.pairs(m, section, func(key string, k, val *yaml.Node) error {
		if i, ok := fields[key]; ok {
			return d.decodeValue(val, v.Field(i), join(section, key), key)
		}
		if extra != nil {
			handled, err := extra(key, k, val)
			if handled || err != nil {
				return err
			}
		}
		return errorf(d.file, k.Line, join(section, key), "unknown %s key %q%s", sectionLabel(section), key, didYouMean(key, names, aliases))
	})
}

// sectionLabel names a section in "unknown ... key" messages.
func sectionLabel(section string) string {
	if section == "" {
		return "top-level"
	}
	return section
}

var secretType = reflect.TypeFor[providers.Secret]()

// sizeKeys are integer keys that also accept a unit (64MiB).
var sizeKeys = map[string]bool{"multipartPartSize": true, "maxSendMessageLength": true, "maxReceiveMessageLength": true}

// decodeValue decodes one value into field f. path names it in messages;
// key is its last element.
func (d *decoder) decodeValue(n *yaml.Node, f reflect.Value, path, key string) error {
	n = yamlnode.Resolve(n)
	if isNull(n) {
		return nil // "key:" with no value leaves the field unset
	}
	line := n.Line
	switch f.Kind() {
	case reflect.Struct:
		return d.decodeStruct(n, f, path, nil, nil)
	case reflect.Slice:
		if f.Type().Elem().Kind() != reflect.String {
			break
		}
		return d.decodeStrings(n, f, path)
	}
	if n.Kind != yaml.ScalarNode {
		return errorf(d.file, line, path, "%s must be a single value, found %s", path, yamlnode.KindName(n))
	}
	val := strings.TrimSpace(n.Value)
	switch f.Kind() {
	case reflect.String:
		if f.Type() == secretType && val == redactedValue {
			return errorf(d.file, line, path, "%s is %q, the placeholder `config show` prints; put the real value (or remove the key)", path, redactedValue)
		}
		if n.Tag == "!!binary" { // how the encoder writes strings that are not UTF-8
			b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(n.Value), ""))
			if err != nil {
				return errorf(d.file, line, path, "%s is tagged !!binary but is not base64", path)
			}
			f.SetString(string(b))
			return nil
		}
		f.SetString(n.Value)
		return nil
	case reflect.Int, reflect.Int64, reflect.Int32:
		x, err := parseInt(val, sizeKeys[key], f.Type().Bits())
		if err != nil {
			return errorf(d.file, line, path, "%s: %q %v", path, val, err)
		}
		f.SetInt(x)
		return nil
	case reflect.Bool:
		b, err := parseBool(val)
		if err != nil {
			return errorf(d.file, line, path, "%s: %q %v", path, val, err)
		}
		f.SetBool(b)
		return nil
	case reflect.Pointer:
		if f.Type().Elem().Kind() == reflect.Bool {
			b, err := parseBool(val)
			if err != nil {
				return errorf(d.file, line, path, "%s: %q %v", path, val, err)
			}
			f.Set(reflect.ValueOf(&b))
			return nil
		}
	}
	// A field type this decoder does not special-case (added later to
	// providers.StorageProperties): let the YAML library decode it.
	if err := n.Decode(f.Addr().Interface()); err != nil {
		return errorf(d.file, line, path, "%s: %v", path, err)
	}
	return nil
}

// decodeStrings fills a []string from a list, or from a single value as a
// one-element list.
func (d *decoder) decodeStrings(n *yaml.Node, f reflect.Value, path string) error {
	var out []string
	switch n.Kind {
	case yaml.ScalarNode:
		out = append(out, n.Value)
	case yaml.SequenceNode:
		for _, e := range n.Content {
			e = yamlnode.Resolve(e)
			if e == nil || e.Kind != yaml.ScalarNode || isNull(e) {
				line := n.Line
				if e != nil {
					line = e.Line
				}
				return errorf(d.file, line, path, "%s must be a list of plain values; remove the empty or nested entry", path)
			}
			out = append(out, e.Value)
		}
	default:
		return errorf(d.file, n.Line, path, "%s must be a list, found %s", path, yamlnode.KindName(n))
	}
	f.Set(reflect.ValueOf(out).Convert(f.Type()))
	return nil
}

// parseBool reads the boolean spellings of YAML, Python and medusa.ini:
// true/false, yes/no, on/off, y/n, 1/0, in any case.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "y", "1":
		return true, nil
	case "false", "no", "off", "n", "0":
		return false, nil
	}
	return false, fmt.Errorf("is not a boolean; use true or false")
}

// sizeUnits are the units parseInt accepts for size keys: decimal KB/MB/GB
// and binary KiB/MiB/GiB (K, M, G and Ki, Mi, Gi alone are binary).
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"ki", 1 << 10}, {"mi", 1 << 20}, {"gi", 1 << 30},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30},
	{"b", 1},
}

// parseInt reads a base-10 integer that fits in bits; with sizes, a unit
// may follow.
func parseInt(s string, sizes bool, bits int) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	if sizes {
		lower := strings.ToLower(s)
		for _, u := range sizeUnits {
			if strings.HasSuffix(lower, u.suffix) {
				s, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mult
				break
			}
		}
	}
	x, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		if sizes {
			return 0, fmt.Errorf("is not a size; use bytes or a number with KiB, MiB or GiB")
		}
		return 0, fmt.Errorf("is not a whole number")
	}
	limit := int64(math.MaxInt64 >> (64 - bits))
	if mult > 1 && (x > limit/mult || x < -limit/mult) {
		return 0, fmt.Errorf("is too large")
	}
	return x * mult, nil
}
