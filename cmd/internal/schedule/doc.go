// Package schedule runs backup and purge schedules declared as Kubernetes
// MedusaBackupSchedule objects, for `cassette schedule` on machines without
// the operator.
//
// Load reads schedules from YAML (one or several documents, MedusaBackupSchedule
// objects, MedusaBackupScheduleList or List objects holding them) and reports
// every problem as one line naming the file and line. Cron expressions are
// parsed with github.com/robfig/cron/v3's ParseStandard (five fields, the
// @daily-style descriptors and a CRON_TZ= prefix) and evaluated in UTC unless
// CRON_TZ says otherwise, as the operator does.
//
// A Scheduler starts a Runner at every scheduled time. Scheduled backups are
// named BackupName: <schedule>-<unix seconds of the scheduled time>, so every
// node running the same schedule names the same cluster backup. Forbid (the
// default) never starts a run of a schedule while its previous run goes on:
// the due run waits, and further due times are recorded as missed. Allow lets
// runs overlap, up to Options.MaxRunning in the whole process. Times that
// passed while no scheduler ran are reported as missed, never run late.
//
// The Scheduler keeps a State (last execution, next schedule, running runs,
// the last result, missed runs) and saves it as a small JSON file after every
// change, so `cassette schedule status` can read it and a restarted scheduler
// continues where the last one stopped. Time is injected (Clock), and
// FakeClock drives tests.
package schedule
