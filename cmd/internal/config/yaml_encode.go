package config

import (
	"encoding/base64"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// toNode builds the YAML tree of v (a struct, walked by its yaml tags)
// itself rather than through yaml's Node.Encode, for two reasons: secrets
// render as "" when unset and [redacted] when set, and strings with control
// characters are double-quoted (the library's block style emits some of
// them, e.g. "\t\n", as text it cannot parse back).
func toNode(v reflect.Value) (*yaml.Node, error) {
	switch {
	case v.Type() == secretType:
		if v.String() == "" {
			return strNode(""), nil
		}
		return strNode(redactedValue), nil
	case v.Kind() == reflect.Struct:
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			if strings.Contains(opts, "omitempty") && v.Field(i).IsZero() {
				continue
			}
			val, err := toNode(v.Field(i))
			if err != nil {
				return nil, err
			}
			m.Content = append(m.Content, strNode(name), val)
		}
		return m, nil
	case v.Kind() == reflect.String:
		return strNode(v.String()), nil
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int32 || v.Kind() == reflect.Int64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v.Int(), 10)}, nil
	case v.Kind() == reflect.Bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v.Bool())}, nil
	case v.Kind() == reflect.Pointer && v.Type().Elem().Kind() == reflect.Bool:
		if v.IsNil() {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v.Elem().Bool())}, nil
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		s := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if v.Len() == 0 {
			s.Style = yaml.FlowStyle // []
		}
		for i := range v.Len() {
			s.Content = append(s.Content, strNode(v.Index(i).String()))
		}
		return s, nil
	}
	// A field type added later that toNode does not know: let the library
	// render it.
	var n yaml.Node
	if err := n.Encode(v.Interface()); err != nil {
		return nil, err
	}
	return &n, nil
}

// strNode is a string scalar, double-quoted when it holds characters that
// plain or block style would not carry back unchanged. Bytes that are not UTF-8 are written as !!binary, which the decoder reads
// back.
func strNode(s string) *yaml.Node {
	if !utf8.ValidString(s) {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!binary", Value: base64.StdEncoding.EncodeToString([]byte(s))}
	}
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if needsQuotes(s) {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// needsQuotes reports control characters, non-ASCII spaces or surrounding
// whitespace.
func needsQuotes(s string) bool {
	if s != strings.TrimSpace(s) {
		return true
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\u0085' || r == '\u2028' || r == '\u2029' || r == '\ufeff' {
			return true
		}
	}
	return false
}
