package medusapb

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// TestWireContract pins everything a client generated from Medusa's
// medusa.proto depends on: no package, the service and method names, every
// message's fields (name, number, type, cardinality) and every enum value.
func TestWireContract(t *testing.T) {
	fd := File_medusa_proto
	if fd.Package() != "" {
		t.Fatalf("package %q: Medusa's proto has none", fd.Package())
	}
	svc := fd.Services().ByName("Medusa")
	if svc == nil || svc.FullName() != "Medusa" {
		t.Fatal("no service Medusa")
	}
	methods := [][3]string{
		{"Backup", "BackupRequest", "BackupResponse"},
		{"AsyncBackup", "BackupRequest", "BackupResponse"},
		{"BackupStatus", "BackupStatusRequest", "BackupStatusResponse"},
		{"DeleteBackup", "DeleteBackupRequest", "DeleteBackupResponse"},
		{"GetBackup", "GetBackupRequest", "GetBackupResponse"},
		{"GetBackups", "GetBackupsRequest", "GetBackupsResponse"},
		{"PurgeBackups", "PurgeBackupsRequest", "PurgeBackupsResponse"},
		{"PrepareRestore", "PrepareRestoreRequest", "PrepareRestoreResponse"},
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
	if Medusa_AsyncBackup_FullMethodName != "/Medusa/AsyncBackup" {
		t.Errorf("method path %s", Medusa_AsyncBackup_FullMethodName)
	}

	type field struct {
		name     string
		num      protoreflect.FieldNumber
		kind     string // scalar kind, or the message/enum full name
		repeated bool
	}
	messages := map[string][]field{
		"BackupRequest":          {{"name", 1, "string", false}, {"mode", 2, "BackupRequest.Mode", false}},
		"BackupResponse":         {{"backupName", 1, "string", false}, {"status", 2, "StatusType", false}},
		"BackupStatusRequest":    {{"backupName", 1, "string", false}},
		"BackupStatusResponse":   {{"startTime", 1, "string", false}, {"finishTime", 2, "string", false}, {"status", 3, "StatusType", false}},
		"DeleteBackupRequest":    {{"name", 1, "string", false}},
		"DeleteBackupResponse":   {{"name", 1, "string", false}, {"status", 2, "StatusType", false}},
		"GetBackupRequest":       {{"backupName", 1, "string", false}},
		"GetBackupResponse":      {{"backup", 1, "BackupSummary", false}, {"status", 2, "StatusType", false}},
		"GetBackupsRequest":      {},
		"GetBackupsResponse":     {{"backups", 1, "BackupSummary", true}, {"overallStatus", 2, "StatusType", false}},
		"BackupNode":             {{"host", 1, "string", false}, {"tokens", 2, "int64", true}, {"datacenter", 3, "string", false}, {"rack", 4, "string", false}},
		"PurgeBackupsRequest":    {},
		"PrepareRestoreRequest":  {{"backupName", 1, "string", false}, {"datacenter", 2, "string", false}, {"restoreKey", 3, "string", false}},
		"PrepareRestoreResponse": {},
		"PurgeBackupsResponse": {{"nbBackupsPurged", 1, "int32", false}, {"nbObjectsPurged", 2, "int32", false},
			{"totalPurgedSize", 3, "int64", false}, {"totalObjectsWithinGcGrace", 4, "int32", false}},
		"BackupSummary": {{"backupName", 1, "string", false}, {"startTime", 2, "int64", false}, {"finishTime", 3, "int64", false},
			{"totalNodes", 4, "int32", false}, {"finishedNodes", 5, "int32", false}, {"nodes", 6, "BackupNode", true},
			{"status", 7, "StatusType", false}, {"backupType", 8, "string", false}, {"totalSize", 9, "int64", false}, {"totalObjects", 10, "int64", false}},
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
			if got.Number() != f.num || kind != f.kind || got.IsList() != f.repeated || (got.HasPresence() && got.Message() == nil) {
				t.Errorf("%s.%s = %d %s (repeated %v, presence %v), want %d %s (repeated %v)", name, f.name, got.Number(), kind, got.IsList(), got.HasPresence(), f.num, f.kind, f.repeated)
			}
		}
	}
	enums := map[string][]string{
		"StatusType":         {"IN_PROGRESS", "SUCCESS", "FAILED", "UNKNOWN"},
		"BackupRequest.Mode": {"DIFFERENTIAL", "FULL"},
	}
	for name, values := range enums {
		var ed protoreflect.EnumDescriptor
		if name == "StatusType" {
			ed = fd.Enums().ByName("StatusType")
		} else {
			ed = fd.Messages().ByName("BackupRequest").Enums().ByName("Mode")
		}
		if ed == nil || string(ed.FullName()) != name || ed.Values().Len() != len(values) {
			t.Errorf("enum %s: %v", name, ed)
			continue
		}
		for i, v := range values {
			if ev := ed.Values().ByName(protoreflect.Name(v)); ev == nil || ev.Number() != protoreflect.EnumNumber(i) {
				t.Errorf("%s.%s is not %d", name, v, i)
			}
		}
	}
}
