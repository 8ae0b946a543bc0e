package schedule

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/cassette-backup/cassette/cmd/internal/fileerr"
)

// Operation types (spec.operationType).
const (
	OpBackup = "backup" // the default
	OpPurge  = "purge"
)

// Concurrency policies (spec.concurrencyPolicy).
const (
	Forbid = "Forbid" // the default
	Allow  = "Allow"
)

// Backup types (spec.backupSpec.backupType), as the engine spells them.
const (
	TypeDifferential = "differential" // the default
	TypeFull         = "full"
)

// Schedule is one MedusaBackupSchedule.
type Schedule struct {
	// Name is metadata.name; it prefixes the backups the schedule takes.
	Name string
	// Cron is spec.cronSchedule as written.
	Cron string
	// Disabled is spec.disabled: the schedule starts nothing.
	Disabled bool
	// Operation is OpBackup or OpPurge.
	Operation string
	// BackupType is TypeDifferential or TypeFull (backups only).
	BackupType string
	// Concurrency is Forbid or Allow.
	Concurrency string
	// File and Line say where the schedule was declared.
	File string
	Line int

	spec cron.Schedule
}

// BackupName is the name of the backup a backup schedule takes for the run
// scheduled at t: <name>-<unix seconds of t>. Every node computes the same
// name for the same scheduled time, so their backups form one cluster backup.
func (s Schedule) BackupName(t time.Time) string {
	return fmt.Sprintf("%s-%d", s.Name, t.Unix())
}

// Next returns the first scheduled time strictly after t, or the zero time
// when the expression never fires again. Times are evaluated in UTC unless
// the expression carries a CRON_TZ= prefix.
func (s Schedule) Next(t time.Time) time.Time {
	if s.spec == nil {
		return time.Time{}
	}
	n := s.spec.Next(t.UTC())
	if n.IsZero() {
		return n
	}
	return n.UTC()
}

// Runner runs one scheduled operation. scheduled is the scheduled time (not
// the time it actually starts); ctx is cancelled when the scheduler stops and
// its shutdown grace is over. An error makes the run FAILED.
type Runner func(ctx context.Context, s Schedule, scheduled time.Time) (Result, error)

// Result is what a successful (or partly successful) run reports.
type Result struct {
	// Backup is the backup the run took (backup schedules).
	Backup string
	// Summary is one line for the status: files and bytes, or what a purge
	// removed.
	Summary string
}

// nameRE is what a schedule name may be: a Kubernetes object name, and a
// valid backup name once "-<unix seconds>" is appended.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// maxNameLen leaves room for "-" and eleven digits of unix seconds within
// the 253 characters a backup name may have.
const maxNameLen = 253 - 12

func checkName(name string) string {
	switch {
	case name == "":
		return "metadata.name is not set; give the schedule a name (it prefixes its backups' names)"
	case len(name) > maxNameLen:
		return fmt.Sprintf("metadata.name is %d characters long; use at most %d (the backup name appends -<unix seconds>)", len(name), maxNameLen)
	case !nameRE.MatchString(name):
		return fmt.Sprintf("metadata.name %q is not a valid name; use letters, digits, '.', '_' and '-', starting with a letter or digit", name)
	}
	return ""
}

// cronHelp ends every cron error: what the field is expected to hold.
const cronHelp = `use five fields (minute hour day-of-month month day-of-week), e.g. "30 1 * * *" for 01:30 UTC every day`

// parseCron parses spec.cronSchedule with robfig/cron's standard parser.
// It returns a message (no file or line) on failure.
func parseCron(expr string) (cron.Schedule, string) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, "spec.cronSchedule is not set; " + cronHelp
	}
	body := expr
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		// robfig/cron slices the zone up to the first space and panics
		// when there is none.
		_, rest, ok := strings.Cut(expr, " ")
		if !ok || strings.TrimSpace(rest) == "" {
			return nil, fmt.Sprintf("spec.cronSchedule %q has a time zone but no schedule after it; write CRON_TZ=<zone> and then the five fields, e.g. \"CRON_TZ=Europe/Paris 30 1 * * *\"", expr)
		}
		body = strings.TrimSpace(rest)
	}
	if strings.HasPrefix(body, "@every") {
		return nil, fmt.Sprintf("spec.cronSchedule %q: @every counts from when each process started, so nodes would name their backups differently; %s", expr, cronHelp)
	}
	spec, err := parseStandard(expr)
	if err != nil && strings.HasPrefix(err.Error(), "provided bad location") {
		return nil, fmt.Sprintf("spec.cronSchedule %q: unknown time zone (%s); use an IANA zone name such as UTC or Europe/Paris", expr, fileerr.OneLine(err.Error()))
	}
	if err != nil {
		return nil, fmt.Sprintf("spec.cronSchedule %q is not a valid cron expression (%s); %s", expr, fileerr.OneLine(err.Error()), cronHelp)
	}
	// A date that never comes (30 February) makes Next return zero.
	if spec.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Sprintf("spec.cronSchedule %q never matches a date; %s", expr, cronHelp)
	}
	return spec, ""
}

// parseStandard is cron.ParseStandard, with a panic (robfig/cron has had
// some on odd input) turned into an error.
func parseStandard(expr string) (s cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return cron.ParseStandard(expr)
}
