package schedule

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// missionControlDocs is the MedusaBackupSchedule of Mission Control's
// documentation as it is, a newer purge schedule with the operator's newer
// fields, and a MedusaConfiguration that shares the stream.
const missionControlDocs = `apiVersion: medusa.k8ssandra.io/v1alpha1
kind: MedusaBackupSchedule
metadata:
  name: medusa-backup-schedule
  namespace: demo-dc1
spec:
  backupSpec:
    backupType: differential
    cassandraDatacenter: demo-dc1
  cronSchedule: 30 1 * * *
  disabled: false
---
apiVersion: medusa.k8ssandra.io/v1alpha1
kind: MedusaConfiguration
metadata:
  name: medusa-config
spec:
  storageProperties:
    storageProvider: s3
    bucketName: medusa
---
apiVersion: medusa.k8ssandra.io/v1alpha1
kind: MedusaBackupSchedule
metadata:
  name: weekly-purge
  namespace: demo-dc1
  labels:
    team: data
spec:
  cronSchedule: "CRON_TZ=Europe/Paris 0 4 * * 0"
  operationType: purge
  concurrencyPolicy: Allow
  backupSpec:
    cassandraDatacenter: demo-dc1
status:
  lastExecution: "2022-07-26T01:30:00Z"
  nextSchedule: "2022-07-27T01:30:00Z"
`

func TestParseMissionControlManifests(t *testing.T) {
	got, notes, err := Parse("schedules.yaml", []byte(missionControlDocs))
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 0 {
		t.Errorf("notes: %q", notes)
	}
	if len(got) != 2 {
		t.Fatalf("%d schedules, want 2", len(got))
	}
	b := got[0]
	if b.Name != "medusa-backup-schedule" || b.Operation != OpBackup || b.BackupType != TypeDifferential ||
		b.Concurrency != Forbid || b.Disabled || b.Cron != "30 1 * * *" || b.Line != 1 {
		t.Errorf("backup schedule: %+v", b)
	}
	from := time.Date(2022, 7, 25, 12, 0, 0, 0, time.UTC)
	if n := b.Next(from); !n.Equal(time.Date(2022, 7, 26, 1, 30, 0, 0, time.UTC)) {
		t.Errorf("next after %s: %s (cron is UTC)", from, n)
	}
	// The documentation's own example name.
	if name := b.BackupName(time.Unix(1658626200, 0)); name != "medusa-backup-schedule-1658626200" {
		t.Errorf("backup name %q", name)
	}
	p := got[1]
	if p.Name != "weekly-purge" || p.Operation != OpPurge || p.Concurrency != Allow {
		t.Errorf("purge schedule: %+v", p)
	}
	// CRON_TZ: Sunday 04:00 in Paris is 02:00 UTC in summer.
	if n := p.Next(from); !n.Equal(time.Date(2022, 7, 31, 2, 0, 0, 0, time.UTC)) || n.Location() != time.UTC {
		t.Errorf("CRON_TZ next: %s", n)
	}
}

func TestParseLists(t *testing.T) {
	const list = `apiVersion: v1
kind: List
items:
- apiVersion: medusa.k8ssandra.io/v1alpha1
  kind: MedusaBackupSchedule
  metadata: {name: a}
  spec: {cronSchedule: "@daily", backupSpec: {backupType: FULL}}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: other}
---
apiVersion: medusa.k8ssandra.io/v1alpha1
kind: MedusaBackupScheduleList
items:
- metadata: {name: b}
  spec: {cronSchedule: "*/15 * * * *", disabled: true}
`
	got, _, err := Parse("l.yaml", []byte(list))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "a" || got[0].BackupType != TypeFull || got[1].Name != "b" || !got[1].Disabled {
		t.Fatalf("%+v", got)
	}
}

func TestParseNotesUnknownFields(t *testing.T) {
	const doc = `kind: MedusaBackupSchedule
apiVersion: medusa.k8ssandra.io/v1alpha1
metadata: {name: n}
spec:
  cronSchedule: "0 * * * *"
  startingDeadlineSeconds: 300
`
	got, notes, err := Parse("n.yaml", []byte(doc))
	if err != nil || len(got) != 1 {
		t.Fatal(got, err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "n.yaml:6:") || !strings.Contains(notes[0], "startingDeadlineSeconds") {
		t.Fatalf("notes %q", notes)
	}
}

func TestParseErrors(t *testing.T) {
	head := "apiVersion: medusa.k8ssandra.io/v1alpha1\nkind: MedusaBackupSchedule\nmetadata:\n  name: nightly\nspec:\n"
	for _, tc := range []struct {
		name, doc string
		want      []string // substrings of the one-line message
	}{
		{"six fields", head + "  cronSchedule: \"0 30 1 * * *\"\n", []string{"s.yaml:6: ", `"0 30 1 * * *"`, "expected exactly 5 fields", "use five fields"}},
		{"out of range", head + "  cronSchedule: \"61 1 * * *\"\n", []string{"s.yaml:6: ", "above maximum", "minute hour"}},
		{"never", head + "  cronSchedule: \"0 0 30 2 *\"\n", []string{"s.yaml:6: ", "never matches"}},
		{"every", head + "  cronSchedule: \"@every 1h\"\n", []string{"s.yaml:6: ", "@every", "nodes would name"}},
		{"tz alone", head + "  cronSchedule: CRON_TZ=UTC\n", []string{"s.yaml:6: ", "no schedule after it"}},
		{"bad tz", head + "  cronSchedule: \"CRON_TZ=Mars/Olympus 0 1 * * *\"\n", []string{"s.yaml:6: ", "Mars/Olympus", "IANA zone"}},
		{"no cron", head + "  disabled: false\n", []string{"s.yaml:", "cronSchedule is not set"}},
		{"operation", head + "  cronSchedule: \"0 1 * * *\"\n  operationType: purg\n", []string{"s.yaml:7: ", `schedule "nightly"`, `"purg"`, `did you mean "purge"`, "use backup or purge"}},
		{"policy", head + "  cronSchedule: \"0 1 * * *\"\n  concurrencyPolicy: Forbidd\n", []string{"s.yaml:7: ", `did you mean "Forbid"`, "use Forbid or Allow"}},
		{"replace", head + "  cronSchedule: \"0 1 * * *\"\n  concurrencyPolicy: Replace\n", []string{"s.yaml:7: ", "Replace is not supported"}},
		{"backup type", head + "  cronSchedule: \"0 1 * * *\"\n  backupSpec:\n    backupType: diferential\n", []string{"s.yaml:8: ", `did you mean "differential"`}},
		{"spec typo", head + "  cronSchedul: \"0 1 * * *\"\n", []string{"s.yaml:6: ", `did you mean "cronSchedule"`}},
		{"disabled", head + "  cronSchedule: \"0 1 * * *\"\n  disabled: sometimes\n", []string{"s.yaml:7: ", "true or false"}},
		{"kind typo", "kind: MedusaBackupSchedul\nmetadata: {name: x}\n", []string{"s.yaml:1: ", `did you mean "MedusaBackupSchedule"`}},
		{"no name", "kind: MedusaBackupSchedule\nspec: {cronSchedule: \"0 1 * * *\"}\n", []string{"s.yaml:1: ", "metadata.name is not set"}},
		{"bad name", "kind: MedusaBackupSchedule\nmetadata: {name: \"a/b\"}\nspec: {cronSchedule: \"0 1 * * *\"}\n", []string{"s.yaml:2: ", "not a valid name"}},
		{"duplicate", head + "  cronSchedule: \"0 1 * * *\"\n---\n" + head + "  cronSchedule: \"0 2 * * *\"\n", []string{"s.yaml:11: ", "used twice (first on line 4)"}},
		{"yaml", "kind: MedusaBackupSchedule\nspec: [\n", []string{"s.yaml:", "not valid YAML"}},
		{"nothing", "apiVersion: v1\nkind: ConfigMap\n", []string{"s.yaml: ", "no schedule", "found only kind ConfigMap"}},
		{"empty", "", []string{"s.yaml: ", "the file is empty"}},
		{"api group", "apiVersion: batch/v1\n" + strings.TrimPrefix(head, "apiVersion: medusa.k8ssandra.io/v1alpha1\n") + "  cronSchedule: \"0 1 * * *\"\n", []string{"s.yaml:1: ", "medusa.k8ssandra.io/v1alpha1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse("s.yaml", []byte(tc.doc))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not match ErrInvalid", err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("more than one line: %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q does not contain %q", msg, w)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, _, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "--schedules") {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "s.yaml")
	os.WriteFile(p, []byte(missionControlDocs), 0o600)
	if got, _, err := Load(p); err != nil || len(got) != 2 {
		t.Fatal(got, err)
	}
}

// FuzzParse: hostile YAML is an error, never a panic (robfig/cron panics on
// "CRON_TZ=x" with nothing after it).
func FuzzParse(f *testing.F) {
	f.Add([]byte(missionControlDocs))
	f.Add([]byte("kind: MedusaBackupSchedule\nmetadata: {name: a}\nspec: {cronSchedule: \"CRON_TZ=UTC\"}\n"))
	f.Add([]byte("kind: List\nitems: [{kind: MedusaBackupSchedule, metadata: {name: a}, spec: {cronSchedule: \"TZ=UTC 1-5/2 * * * MON-FRI\"}}]\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, _, err := Parse("f.yaml", data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error on more than one line: %q", err)
			}
			return
		}
		for _, s := range got {
			if s.spec == nil || s.Name == "" {
				t.Fatalf("schedule without cron or name: %+v", s)
			}
			s.Next(time.Unix(0, 0))
		}
	})
}
