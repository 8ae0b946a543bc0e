package control

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cassette-backup/cassette/cmd/internal/suggest"
	"github.com/cassette-backup/cassette/cmd/internal/yamlnode"
	"github.com/cassette-backup/cassette/providers"
)

// pairs calls fn for each key of mapping n, rejecting duplicates, keys
// that are not plain names and keys not in known (with a suggestion).
func (p *invParser) pairs(n *yaml.Node, where string, known []string, fn func(key string, k, v *yaml.Node) error) error {
	n = yamlnode.Resolve(n)
	if yamlnode.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return p.errf(n.Line, where, "%s must be a map of keys (%s), found %s", orTop(where), strings.Join(known, ", "), kindName(n))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := yamlnode.Resolve(n.Content[i]), yamlnode.Resolve(n.Content[i+1])
		if k == nil || k.Kind != yaml.ScalarNode {
			return p.errf(n.Content[i].Line, where, "%s: a key is not a plain name; write keys as name: value", orTop(where))
		}
		key := join(where, k.Value)
		if first, dup := seen[k.Value]; dup {
			return p.errf(k.Line, key, "%s is set twice (first on line %d); keep one", key, first)
		}
		seen[k.Value] = k.Line
		if !slices.Contains(known, k.Value) {
			return p.errf(k.Line, key, "unknown key %s%s; %s takes %s", key, suggest.Hint(k.Value, known), orTop(where), strings.Join(known, ", "))
		}
		if v == nil {
			v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: k.Line}
		}
		if err := fn(k.Value, k, v); err != nil {
			return err
		}
	}
	return nil
}

// list calls fn for each item of sequence n (nothing for null).
func (p *invParser) list(n *yaml.Node, where string, fn func(item *yaml.Node, where string) error) error {
	n = yamlnode.Resolve(n)
	if yamlnode.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return p.errf(n.Line, where, "%s must be a list (items starting with \"- \"), found %s", where, kindName(n))
	}
	for i, it := range n.Content {
		if err := fn(yamlnode.Resolve(it), fmt.Sprintf("%s[%d]", where, i)); err != nil {
			return err
		}
	}
	return nil
}

// str reads a scalar into dst.
func (p *invParser) str(v *yaml.Node, key string, dst *string) error {
	if yamlnode.IsNull(v) {
		return nil
	}
	if v.Kind != yaml.ScalarNode {
		return p.errf(v.Line, key, "%s must be a single value, found %s", key, kindName(v))
	}
	*dst = strings.TrimSpace(v.Value)
	return nil
}

// name reads a name: letters, digits, '.', '_' and '-'.
func (p *invParser) name(v *yaml.Node, key string, dst *string) error {
	if err := p.str(v, key, dst); err != nil {
		return err
	}
	if *dst != "" && !nameRE.MatchString(*dst) {
		return p.errf(v.Line, key, "%s %q is not a valid name; use letters, digits, '.', '_' and '-' (at most 253, starting with a letter or digit)", key, *dst)
	}
	return nil
}

func (p *invParser) required(n *yaml.Node, where, key, val, what string) error {
	if val != "" {
		return nil
	}
	return p.errf(n.Line, where+"."+key, "%s.%s is not set; give %s", where, key, what)
}

// storageProperties decodes a storageProperties map by the yaml names of
// providers.StorageProperties, accepting the spellings manifests use
// ("False", "9000" as a string). storageSecretRef: {name: x} is kept as a
// reference; a secret value written inline is refused.
func (p *invParser) storageProperties(n *yaml.Node, where string, s *StorageConfig) error {
	rv := reflect.ValueOf(&s.Properties).Elem()
	fields, names := yamlFields(rv.Type())
	known := append(names, "storageSecretRef")
	return p.pairs(n, where, known, func(key string, k, v *yaml.Node) error {
		path := where + "." + key
		if key == "storageSecretRef" {
			return p.pairs(v, path, []string{"name"}, func(_ string, _, nv *yaml.Node) error {
				return p.name(nv, path+".name", &s.SecretRef)
			})
		}
		f := rv.Field(fields[key])
		if f.Type() == reflect.TypeOf(providers.Secret("")) {
			if yamlnode.IsNull(v) || v.Value == "" {
				return nil
			}
			return p.errf(v.Line, path, "%s holds a secret: the inventory never does (it is shown and shared); set it in the nodes' own configuration", path)
		}
		if yamlnode.IsNull(v) {
			return nil
		}
		if v.Kind != yaml.ScalarNode {
			return p.errf(v.Line, path, "%s must be a single value, found %s", path, kindName(v))
		}
		return p.setScalar(f, v, path)
	})
}

func (p *invParser) setScalar(f reflect.Value, v *yaml.Node, path string) error {
	val := strings.TrimSpace(v.Value)
	switch f.Kind() {
	case reflect.String:
		f.SetString(val)
	case reflect.Int, reflect.Int64:
		i, err := strconv.ParseInt(val, 10, 64)
		if err != nil || i < 0 {
			return p.errf(v.Line, path, "%s %q must be a whole number, 0 or more", path, val)
		}
		f.SetInt(i)
	case reflect.Pointer:
		b, err := strconv.ParseBool(strings.ToLower(val))
		if err != nil || f.Type().Elem().Kind() != reflect.Bool {
			return p.errf(v.Line, path, "%s must be true or false, found %q", path, val)
		}
		f.Set(reflect.ValueOf(&b))
	default:
		return p.errf(v.Line, path, "%s cannot be set in an inventory", path)
	}
	return nil
}

// yamlFields maps a struct type's yaml names to field indexes.
func yamlFields(t reflect.Type) (map[string]int, []string) {
	m := map[string]int{}
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !t.Field(i).IsExported() {
			continue
		}
		m[name] = i
		names = append(names, name)
	}
	return m, names
}

func join(where, key string) string {
	if where == "" {
		return key
	}
	return where + "." + key
}

func orTop(where string) string {
	if where == "" {
		return "the top of the file"
	}
	return where
}

// mappingValue is yamlnode.MappingValue with the value resolved too, so
// that callers read an alias's target (and its line).
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	return yamlnode.Resolve(yamlnode.MappingValue(n, key))
}

// scalar is yamlnode.Scalar with surrounding spaces trimmed, as the
// inventory reads every value.
func scalar(n *yaml.Node) string {
	return strings.TrimSpace(yamlnode.Scalar(n))
}

// kindName names a node for messages; unlike yamlnode.KindName it shows a
// scalar's value and copes with nil.
func kindName(n *yaml.Node) string {
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a map"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.ScalarNode:
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "something else"
}
