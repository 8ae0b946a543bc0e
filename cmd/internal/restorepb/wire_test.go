package restorepb

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/cassette-backup/cassette/cmd/internal/wiretest"
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
	wiretest.Methods(t, svc, methods)
	if NodeRestore_StartRestore_FullMethodName != "/cassette.v1.NodeRestore/StartRestore" ||
		NodeRestore_RestoreStatus_FullMethodName != "/cassette.v1.NodeRestore/RestoreStatus" {
		t.Errorf("method paths %s %s", NodeRestore_StartRestore_FullMethodName, NodeRestore_RestoreStatus_FullMethodName)
	}

	// No field is repeated.
	messages := map[string][]wiretest.Field{
		"StartRestoreRequest":   {{"restoreKey", 1, "string", false}, {"backupName", 2, "string", false}, {"sourceNode", 3, "string", false}},
		"StartRestoreResponse":  {{"started", 1, "bool", false}, {"restore", 2, "cassette.v1.RestoreJob", false}},
		"RestoreStatusRequest":  {{"restoreKey", 1, "string", false}},
		"RestoreStatusResponse": {{"restore", 1, "cassette.v1.RestoreJob", false}},
		"RestoreJob": {{"restoreKey", 1, "string", false}, {"backupName", 2, "string", false}, {"sourceNode", 3, "string", false}, {"node", 4, "string", false},
			{"status", 5, "cassette.v1.RestoreState", false}, {"startTime", 6, "string", false}, {"finishTime", 7, "string", false}, {"error", 8, "string", false},
			{"filesDone", 9, "int64", false}, {"filesTotal", 10, "int64", false}, {"bytesDone", 11, "int64", false}, {"bytesTotal", 12, "int64", false}},
		"RestoreRefusal": {{"reason", 1, "cassette.v1.RestoreRefusal.Reason", false}, {"node", 2, "string", false}},
	}
	wiretest.Messages(t, fd, messages)
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
