package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cassette-backup/cassette/cmd/internal/fileerr"
	"github.com/cassette-backup/cassette/cmd/internal/schedule"
)

// scheduleRow is one line of Scheduled Backups: the MedusaBackupSchedule
// spec and status.
type scheduleRow struct {
	Cluster     string
	Name        string
	Datacenters string
	Cron        string
	Operation   string
	BackupType  string
	Enabled     bool
	Next        *time.Time
	Last        *time.Time
	LastResult  *schedule.Run
	Running     int
	Missed      *schedule.Missed
}

type schedulesData struct {
	Cluster string
	Rows    []scheduleRow
	State   string
	Error   string
}

func (s *Server) scheduleRows(cs *clusterSchedules) []scheduleRow {
	ops := cs.s.Ops()
	schedules := make([]schedule.Schedule, 0, len(ops))
	dcs := map[string]string{}
	for _, op := range ops {
		schedules = append(schedules, op.Schedule)
		names := make([]string, 0, len(op.Datacenters))
		for _, dc := range op.Datacenters {
			names = append(names, dc.Name)
		}
		dcs[op.Schedule.Name] = strings.Join(names, ", ")
	}
	if len(schedules) == 0 {
		return nil
	}
	rows := make([]scheduleRow, 0, len(schedules))
	now := s.now()
	for i, st := range schedule.Report(schedules, cs.s.Status(), now, true) {
		if !st.Disabled && st.NextSchedule == nil {
			// The scheduler has not settled its state yet (it is starting).
			if next := schedules[i].Next(now); !next.IsZero() {
				st.NextSchedule = &next
			}
		}
		rows = append(rows, scheduleRow{Cluster: cs.cl.Name, Name: st.Name, Datacenters: dcs[st.Name], Cron: st.CronSchedule,
			Operation: st.OperationType, BackupType: st.BackupType, Enabled: !st.Disabled, Next: st.NextSchedule,
			Last: st.LastExecution, LastResult: st.LastResult, Running: len(st.Running), Missed: st.Missed})
	}
	return rows
}

func (s *Server) schedulesPage(w http.ResponseWriter, r *http.Request) {
	cl := s.cluster(r.URL.Query().Get("cluster"))
	cs := s.scheds[cl.Name]
	s.render(w, http.StatusOK, "schedules", s.view(r, "schedules", cl.Name, "Scheduled Backups",
		schedulesData{Cluster: cl.Name, Rows: s.scheduleRows(cs), State: cs.state}))
}

// pathSchedules is the cluster's schedules of a /schedules/{cluster}/
// route, or nil after answering 404.
func (s *Server) pathSchedules(w http.ResponseWriter, r *http.Request) *clusterSchedules {
	cs := s.scheds[r.PathValue("cluster")]
	if cs == nil {
		s.notFound(w, r, "no cluster "+strconv.Quote(r.PathValue("cluster"))+" in the inventory")
	}
	return cs
}

func (s *Server) scheduleToggle(w http.ResponseWriter, r *http.Request) {
	cs := s.pathSchedules(w, r)
	if cs == nil {
		return
	}
	name := r.PathValue("name")
	enabled := false
	for _, op := range cs.s.Ops() {
		if op.Schedule.Name == name {
			enabled = op.Schedule.Disabled
		}
	}
	// The form says which state it asks for, so that a double submission
	// does not toggle twice.
	if v := r.PostFormValue("enabled"); v != "" {
		enabled = v == "true"
	}
	if err := cs.setEnabled(name, enabled); err != nil {
		s.scheduleError(w, r, cs, err)
		return
	}
	code := "schedule-disable"
	if enabled {
		code = "schedule-enabled"
	}
	s.log.Info("console: schedule changed", "cluster", cs.cl.Name, "schedule", name, "enabled", enabled)
	redirectDone(w, r, "/schedules?cluster="+queryEscape(cs.cl.Name), code, name)
}

func (s *Server) scheduleError(w http.ResponseWriter, r *http.Request, cs *clusterSchedules, err error) {
	status := http.StatusConflict
	if errors.Is(err, schedule.ErrNoSchedule) {
		status = http.StatusNotFound
	}
	s.render(w, status, "schedules", s.view(r, "schedules", cs.cl.Name, "Scheduled Backups",
		schedulesData{Cluster: cs.cl.Name, Rows: s.scheduleRows(cs), State: cs.state, Error: fileerr.OneLine(err.Error())}))
}

type scheduleDeleteData struct {
	Row   scheduleRow
	Error string
}

func (s *Server) scheduleDeleteConfirm(w http.ResponseWriter, r *http.Request) {
	cs := s.pathSchedules(w, r)
	if cs == nil {
		return
	}
	for _, row := range s.scheduleRows(cs) {
		if row.Name == r.PathValue("name") {
			s.render(w, http.StatusOK, "schedule_delete", s.view(r, "schedules", cs.cl.Name, "Delete Schedule", scheduleDeleteData{Row: row}))
			return
		}
	}
	s.notFound(w, r, "no schedule "+strconv.Quote(r.PathValue("name"))+" in cluster "+cs.cl.Name)
}

func (s *Server) scheduleDelete(w http.ResponseWriter, r *http.Request) {
	cs := s.pathSchedules(w, r)
	if cs == nil {
		return
	}
	name := r.PathValue("name")
	if err := cs.remove(name); err != nil {
		s.scheduleError(w, r, cs, err)
		return
	}
	s.log.Info("console: schedule deleted", "cluster", cs.cl.Name, "schedule", name)
	redirectDone(w, r, "/schedules?cluster="+queryEscape(cs.cl.Name), "schedule-deleted", name)
}
