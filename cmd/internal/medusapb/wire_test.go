package medusapb

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/cassette-backup/cassette/cmd/internal/wiretest"
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
	wiretest.Methods(t, svc, methods)
	if Medusa_AsyncBackup_FullMethodName != "/Medusa/AsyncBackup" {
		t.Errorf("method path %s", Medusa_AsyncBackup_FullMethodName)
	}

	messages := map[string][]wiretest.Field{
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
	wiretest.Messages(t, fd, messages)
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
