// Package wiretest checks a compiled .proto file against the wire contract a
// test spells out: rpc signatures and message fields, what clients built
// from other versions of the file depend on. The generated packages'
// tests (medusapb, restorepb) use it, so both pin their contracts the same
// way; nothing else imports it.
package wiretest

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Field is one message field as the contract fixes it. It is an alias of an
// unnamed struct type so that tests can write their contracts as compact
// unkeyed rows, which go vet accepts only for local or unnamed structs.
type Field = struct {
	Name     string
	Num      protoreflect.FieldNumber
	Kind     string // scalar kind, or the message/enum full name
	Repeated bool
}

// Methods checks that svc has exactly methods, each {name, input full
// name, output full name}, all unary.
func Methods(t testing.TB, svc protoreflect.ServiceDescriptor, methods [][3]string) {
	t.Helper()
	if svc.Methods().Len() != len(methods) {
		t.Errorf("service has %d methods, want %d", svc.Methods().Len(), len(methods))
	}
	for _, m := range methods {
		md := svc.Methods().ByName(protoreflect.Name(m[0]))
		if md == nil {
			t.Errorf("no rpc %s", m[0])
			continue
		}
		if string(md.Input().FullName()) != m[1] || string(md.Output().FullName()) != m[2] || md.IsStreamingClient() || md.IsStreamingServer() {
			t.Errorf("rpc %s(%s) returns (%s), want (%s) returns (%s), unary", m[0], md.Input().FullName(), md.Output().FullName(), m[1], m[2])
		}
	}
}

// Messages checks that fd has exactly the top-level messages named in
// messages, each with exactly its fields. A scalar field with explicit
// presence (proto3 optional) fails too: it changes the generated API.
func Messages(t testing.TB, fd protoreflect.FileDescriptor, messages map[string][]Field) {
	t.Helper()
	if fd.Messages().Len() != len(messages) {
		t.Errorf("%d messages, want %d", fd.Messages().Len(), len(messages))
	}
	for name, fields := range messages {
		md := fd.Messages().ByName(protoreflect.Name(name))
		if md == nil {
			t.Errorf("no message %s", name)
			continue
		}
		if md.Fields().Len() != len(fields) {
			t.Errorf("%s has %d fields, want %d", name, md.Fields().Len(), len(fields))
		}
		for _, f := range fields {
			got := md.Fields().ByName(protoreflect.Name(f.Name))
			if got == nil {
				t.Errorf("%s has no field %s", name, f.Name)
				continue
			}
			kind := got.Kind().String()
			switch {
			case got.Message() != nil:
				kind = string(got.Message().FullName())
			case got.Enum() != nil:
				kind = string(got.Enum().FullName())
			}
			if got.Number() != f.Num || kind != f.Kind || got.IsList() != f.Repeated || (got.HasPresence() && got.Message() == nil) {
				t.Errorf("%s.%s = %d %s (repeated %v, presence %v), want %d %s (repeated %v)", name, f.Name, got.Number(), kind, got.IsList(), got.HasPresence(), f.Num, f.Kind, f.Repeated)
			}
		}
	}
}
