// Package console is the web console of the control plane, `cassette
// control --http ADDR`: the pages of Mission Control's backup UI (Backup
// Configuration, the Backups tab of a cluster, Backup Activity, Scheduled
// Backups) and a Repository page, over cmd/internal/control's Controller.
//
// Pages are rendered on the server with html/template; the CSS and one
// small script (live activity, the cron preview) are embedded. Every action
// is a form that POSTs and redirects, so the console works without
// JavaScript; the script only refreshes the activity and previews cron
// expressions as they are typed.
//
// What the console creates is kept in its state folder (Options.StateDir),
// never in the inventory file: storage.yaml holds the storage configurations
// created or modified in the console (the inventory's storageConfigurations
// shape, validated by control.ParseStorageConfigurations, the inventory's
// own rules), storage-deleted.yaml the inventory configurations deleted in
// it, schedules-<cluster>.yaml the MedusaBackupSchedule objects of each
// cluster, and schedules/control-<cluster>.json their state (lastExecution,
// nextSchedule, last result), as `cassette control schedule` keeps it.
// Every file is written to a temporary file and renamed over the old one.
//
// Contract with the browser tests (cmd/cassette/*browser*): these hooks are
// stable, keep them exactly.
//
//   - GET / redirects to /clusters/<first cluster>/backups.
//   - Nav links have ids: nav-storage, nav-backups, nav-activity,
//     nav-schedules, nav-repository.
//   - /storage: table id="storage-configs", one <tr data-storage="NAME"> per
//     configuration; a link "Create" (id="storage-new") to /storage/new; the
//     form id="storage-form" with inputs name= "name", "storageProvider"
//     (select), "bucketName", "prefix", "region", "host", "port", "secure"
//     (checkbox), "credentialsFile", "storageSecretRef", submit button
//     id="storage-save"; each row has an edit link (class "storage-edit")
//     and a delete button (class "storage-delete") leading to a
//     confirmation page whose confirm button is id="storage-delete-confirm".
//   - Backups tab (/clusters/{cluster}/backups): form id="create-backup"
//     with inputs name="name", select name="datacenter", select name="type",
//     radio name="mode" values "now" and "schedule", input name="cron"
//     (id="cron"), the preview element id="cron-preview" containing one
//     <li> per next run time (or an element with class "error" when
//     invalid), submit button id="create-backup-submit". Backup table
//     id="backups", rows <tr data-backup="NAME"
//     data-status="SUCCESS|IN_PROGRESS|FAILED|...">.
//   - /activity: container id="activity"; one element per backup with
//     data-backup="NAME" and data-status="IN_PROGRESS|SUCCESS|FAILED", per
//     node elements data-node="NODE" with data-status; updates live.
//   - /schedules: table id="schedules", rows <tr data-schedule="NAME"
//     data-enabled="true|false">, a toggle button class="schedule-toggle" in
//     each row. A schedule created from the Backups tab (mode=schedule) is
//     named from the form's name field.
//   - /repository: element id="repo-stats" and an <svg id="repo-chart">.
//
// Beyond the contract: the first line cassette prints on stdout is
// "cassette control: web console on http://HOST:PORT/" (https with TLS), so
// that a test can listen on port 0; /api/activity and /api/cron answer
// JSON (docs/console.md).
package console
