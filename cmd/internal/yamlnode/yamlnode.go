// Package yamlnode holds the yaml.Node helpers that the packages reading
// cassette's YAML files (config, schedule, control) share, so that aliases,
// documents and nulls are treated the same way in all of them.
package yamlnode

import "go.yaml.in/yaml/v3"

// maxAliasDepth bounds how many aliases and documents Resolve follows, so
// that a hostile file cannot make it loop.
const maxAliasDepth = 64

// Resolve follows aliases and unwraps documents; nil stays nil.
func Resolve(n *yaml.Node) *yaml.Node {
	for depth := 0; n != nil && depth < maxAliasDepth; depth++ {
		switch {
		case n.Kind == yaml.AliasNode:
			n = n.Alias
		case n.Kind == yaml.DocumentNode && len(n.Content) == 1:
			n = n.Content[0]
		default:
			return n
		}
	}
	return n
}

// MappingValue returns the value of key in mapping n (after Resolve), or
// nil. The value itself is returned as written, not resolved.
func MappingValue(n *yaml.Node, key string) *yaml.Node {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// IsNull reports whether n is absent, an explicit null ("key:" alone) or an
// empty document.
func IsNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") || (n.Kind == yaml.DocumentNode && len(n.Content) == 0)
}

// Scalar returns a scalar node's value (after Resolve), "" for anything
// else, null included.
func Scalar(n *yaml.Node) string {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || IsNull(n) {
		return ""
	}
	return n.Value
}

// KindName names a node's kind for messages ("found a list").
func KindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	default:
		return "something else"
	}
}
