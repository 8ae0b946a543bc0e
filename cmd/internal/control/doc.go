// Package control drives the `cassette serve` sidecars of whole datacenters
// over the Medusa gRPC API, the way k8ssandra-operator and Mission Control
// do, for `cassette control` and its web console (cmd/internal/console).
//
// An Inventory (LoadInventory) names the clusters, their datacenters and
// each node's sidecar address, rack and client TLS settings, and the storage
// configurations. A Controller then runs operations on one datacenter:
//
//   - Backup: AsyncBackup on every node at once, BackupStatus polls, then the
//     MedusaBackup-shaped summary from GetBackups. A node that fails, forgets
//     the backup (NOT_FOUND) or stops answering is reported by name and the
//     backup is never called SUCCESS;
//   - Purge: PurgeBackups on every node at once, with each node's counters;
//   - Restore: checks a backup against the datacenter as the operator does,
//     builds the operator's host map (BuildHostMap) and calls PrepareRestore
//     on every node. The Medusa API has no RPC that runs a restore: each node
//     applies it in its RESTORE container (`cassette entrypoint` with
//     MEDUSA_MODE=RESTORE and the variables RestorePlan gives), with
//     Cassandra stopped; or, with RestoreRequest.Run, every node restores in
//     place through its sidecar's NodeRestore service (cassette's extension,
//     cmd/internal/restorepb: StartRestore, then RestoreStatus polls), and
//     the restore is SUCCESS only when every node restored;
//   - NewScheduler: MedusaBackupSchedule objects per datacenter on
//     cmd/internal/schedule's Scheduler.
//
// Operations report progress through callbacks that receive deep copies
// (snapshots) of their state, and Controller.Activity lists the backups
// running and recently finished, so a user interface can show them live.
// Time-dependent decisions use the Options' timings; schedules take an
// injected schedule.Clock.
package control
