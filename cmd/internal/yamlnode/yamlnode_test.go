package yamlnode

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

func parse(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

func TestMappingValueAndScalar(t *testing.T) {
	doc := parse(t, "base: &b hello\nref: *b\nnone:\nlist: [1]\n")
	if got := Scalar(MappingValue(doc, "ref")); got != "hello" {
		t.Errorf("Scalar(ref) = %q, want the anchored value", got)
	}
	if v := MappingValue(doc, "ref"); v == nil || v.Kind != yaml.AliasNode {
		t.Errorf("MappingValue(ref) should return the alias as written, got %v", v)
	}
	if v := MappingValue(doc, "none"); !IsNull(v) || Scalar(v) != "" {
		t.Errorf("none: IsNull = %v, Scalar = %q", IsNull(v), Scalar(v))
	}
	if MappingValue(doc, "missing") != nil || !IsNull(MappingValue(doc, "missing")) {
		t.Error("a missing key should be nil and null")
	}
	if got := KindName(Resolve(MappingValue(doc, "list"))); got != "a list" {
		t.Errorf("KindName(list) = %q", got)
	}
	if got := KindName(Resolve(doc)); got != "a map" {
		t.Errorf("KindName(doc) = %q", got)
	}
	if MappingValue(MappingValue(doc, "list"), "x") != nil {
		t.Error("MappingValue of a list should be nil")
	}
}

func TestIsNullEmptyDocument(t *testing.T) {
	if !IsNull(&yaml.Node{Kind: yaml.DocumentNode}) {
		t.Error("an empty document should be null")
	}
}

func TestResolveLoopBounded(t *testing.T) {
	a := &yaml.Node{Kind: yaml.AliasNode}
	a.Alias = a // a hostile cycle must not hang
	if Resolve(a) != a {
		t.Error("Resolve of a cycle should stop and return the node it reached")
	}
}
