package restorepb

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// TestWireContract pins what a client of NodeRestore depends on: the
// package, the service and method paths, every message's fields and every
// enum value. A change here breaks control planes talking to older or
// newer sidecars.
func TestWireContract(t *testing.T) {
	fd := File_restore_proto
	if fd.Package() != "cassette.v1" {
		t.Fatalf("package %q, want cassette.v1", fd.Package())
	}
	svc := fd.Services().ByName("NodeRestore")
	if svc == nil || svc.FullName() != "cassette.v1.NodeRestore" || NodeRestore_ServiceDesc.ServiceName != "cassette.v1.NodeRestore" {
		t.Fatal("no service cassette.v1.NodeRestore")
	}
	methods := [][3]string{
		{"StartRestore", "cassette.v1.StartRestoreRequest", "cassette.v1.StartRestoreResponse"},
		{"RestoreStatus", "cassette.v1.RestoreStatusRequest", "cassette.v1.RestoreStatusResponse"},
	}
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
	if NodeRestore_StartRestore_FullMethodName != "/cassette.v1.NodeRestore/StartRestore" ||
		NodeRestore_RestoreStatus_FullMethodName != "/cassette.v1.NodeRestore/RestoreStatus" {
		t.Errorf("method paths %s %s", NodeRestore_StartRestore_FullMethodName, NodeRestore_RestoreStatus_FullMethodName)
	}

	type field struct {
		name string
		num  protoreflect.FieldNumber
		kind string // scalar kind, or the message/enum full name
	}
	messages := map[string][]field{
		"StartRestoreRequest":   {{"restoreKey", 1, "string"}, {"backupName", 2, "string"}, {"sourceNode", 3, "string"}},
		"StartRestoreResponse":  {{"started", 1, "bool"}, {"restore", 2, "cassette.v1.RestoreJob"}},
		"RestoreStatusRequest":  {{"restoreKey", 1, "string"}},
		"RestoreStatusResponse": {{"restore", 1, "cassette.v1.RestoreJob"}},
		"RestoreJob": {{"restoreKey", 1, "string"}, {"backupName", 2, "string"}, {"sourceNode", 3, "string"}, {"node", 4, "string"},
			{"status", 5, "cassette.v1.RestoreState"}, {"startTime", 6, "string"}, {"finishTime", 7, "string"}, {"error", 8, "string"},
			{"filesDone", 9, "int64"}, {"filesTotal", 10, "int64"}, {"bytesDone", 11, "int64"}, {"bytesTotal", 12, "int64"}},
		"RestoreRefusal": {{"reason", 1, "cassette.v1.RestoreRefusal.Reason"}, {"node", 2, "string"}},
	}
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
			got := md.Fields().ByName(protoreflect.Name(f.name))
			if got == nil {
				t.Errorf("%s has no field %s", name, f.name)
				continue
			}
			kind := got.Kind().String()
			switch {
			case got.Message() != nil:
				kind = string(got.Message().FullName())
			case got.Enum() != nil:
				kind = string(got.Enum().FullName())
			}
			if got.Number() != f.num || kind != f.kind || got.IsList() {
				t.Errorf("%s.%s = %d %s (repeated %v), want %d %s", name, f.name, got.Number(), kind, got.IsList(), f.num, f.kind)
			}
		}
	}
	enums := map[protoreflect.EnumDescriptor][]string{
		fd.Enums().ByName("RestoreState"):                               {"UNKNOWN", "IN_PROGRESS", "SUCCESS", "FAILED"},
		fd.Messages().ByName("RestoreRefusal").Enums().ByName("Reason"): {"REASON_UNSPECIFIED", "CASSANDRA_RUNNING", "RUNNING_UNKNOWN", "NOT_PREPARED", "BUSY"},
	}
	for ed, values := range enums {
		if ed == nil || ed.Values().Len() != len(values) {
			t.Errorf("enum %v: want %v", ed, values)
			continue
		}
		for i, v := range values {
			if ev := ed.Values().ByName(protoreflect.Name(v)); ev == nil || ev.Number() != protoreflect.EnumNumber(i) {
				t.Errorf("%s.%s is not %d", ed.FullName(), v, i)
			}
		}
	}
}

// TestRefusal: the detail survives wrapping, and other errors have none.
func TestRefusal(t *testing.T) {
	err := Refuse(RestoreRefusal_CASSANDRA_RUNNING, "node-1", "node node-1: Cassandra is running")
	if status.Code(err) != codes.FailedPrecondition || status.Convert(err).Message() != "node node-1: Cassandra is running" {
		t.Fatalf("Refuse: %v", err)
	}
	r := RefusalOf(fmt.Errorf("start: %w", err))
	if r.GetReason() != RestoreRefusal_CASSANDRA_RUNNING || r.GetNode() != "node-1" {
		t.Fatalf("RefusalOf: %v", r)
	}
	for _, other := range []error{nil, errors.New("plain"), status.Error(codes.FailedPrecondition, "no detail")} {
		if r := RefusalOf(other); r != nil {
			t.Errorf("RefusalOf(%v) = %v", other, r)
		}
	}
}
