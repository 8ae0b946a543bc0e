package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cassette-backup/cassette/cmd/internal/control"
	"github.com/cassette-backup/cassette/cmd/internal/fileerr"
	"github.com/cassette-backup/cassette/engine"
)

// listTimeout bounds what a page waits for the sidecars' GetBackups.
const listTimeout = 20 * time.Second

// backupForm is the Backups tab's Create Backup form: Run now, or
// Schedule with a cron expression.
type backupForm struct {
	Name        string
	DefaultName string
	Datacenter  string
	Type        string
	Mode        string
	Cron        string
	Datacenters []string
	Preview     cronPreview
	Errors      map[string]string
	FormError   string
}

type backupsData struct {
	Cluster  string
	Form     *backupForm
	Backups  []control.MedusaBackup
	Problems []string
}

func (s *Server) newBackupForm(cl *control.Cluster) *backupForm {
	f := &backupForm{DefaultName: fmt.Sprintf("%s-%d", cl.Name, s.now().Unix()), Type: control.TypeDifferential, Mode: "now",
		Datacenters: cl.DatacenterNames(), Errors: map[string]string{}}
	f.Datacenter = f.Datacenters[0]
	return f
}

// listBackups asks every datacenter of cl at once; a datacenter whose
// sidecars do not answer is a problem line, not an error page.
func (s *Server) listBackups(ctx context.Context, cl *control.Cluster) ([]control.MedusaBackup, []string) {
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	lists := make([][]control.MedusaBackup, len(cl.Datacenters))
	errs := make([]error, len(cl.Datacenters))
	var wg sync.WaitGroup
	for i, dc := range cl.Datacenters {
		wg.Go(func() { lists[i], errs[i] = s.ctl.ListBackups(ctx, dc) })
	}
	wg.Wait()
	var out []control.MedusaBackup
	var problems []string
	for i := range lists {
		out = append(out, lists[i]...)
		if errs[i] != nil {
			problems = append(problems, fileerr.OneLine(errs[i].Error()))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartTime.After(out[j].StartTime) })
	return out, problems
}

func (s *Server) backupsPage(w http.ResponseWriter, r *http.Request) {
	cl := s.pathCluster(w, r)
	if cl == nil {
		return
	}
	f := s.newBackupForm(cl)
	if c := r.URL.Query().Get("cron"); c != "" {
		f.Cron, f.Mode = c, "schedule"
	}
	f.Preview = s.preview(f.Cron)
	s.renderBackups(w, r, http.StatusOK, cl, f)
}

func (s *Server) renderBackups(w http.ResponseWriter, r *http.Request, status int, cl *control.Cluster, f *backupForm) {
	list, problems := s.listBackups(r.Context(), cl)
	s.render(w, status, "backups", s.view(r, "backups", cl.Name, "Backups", backupsData{Cluster: cl.Name, Form: f, Backups: list, Problems: problems}))
}

func (s *Server) backupCreate(w http.ResponseWriter, r *http.Request) {
	cl := s.pathCluster(w, r)
	if cl == nil {
		return
	}
	f := s.newBackupForm(cl)
	get := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f.Name, f.Datacenter, f.Type, f.Mode, f.Cron = get("name"), get("datacenter"), strings.ToLower(get("type")), get("mode"), get("cron")
	if d := get("defaultName"); validName(d) {
		f.DefaultName = d
	}
	name := f.Name
	if name == "" {
		name = f.DefaultName
	}
	dc, err := cl.FindDatacenter(f.Datacenter)
	if err != nil || f.Datacenter == "" {
		f.Errors["datacenter"] = fmt.Sprintf("choose a datacenter of cluster %s (%s)", cl.Name, strings.Join(cl.DatacenterNames(), ", "))
	}
	if f.Type != control.TypeFull && f.Type != control.TypeDifferential {
		f.Errors["type"] = "choose full or differential"
	}
	if f.Mode != "now" && f.Mode != "schedule" {
		f.Errors["mode"] = "choose Run now or Schedule"
	}
	if len(f.Errors) == 0 {
		if f.Mode == "schedule" {
			err = s.scheds[cl.Name].create(name, dc.Name, f.Type, f.Cron)
			if err == nil {
				s.log.Info("console: schedule created", "cluster", cl.Name, "schedule", name, "datacenter", dc.Name, "cron", f.Cron)
				redirectDone(w, r, "/schedules?cluster="+queryEscape(cl.Name), "schedule-created", name)
				return
			}
		} else if err = s.startBackup(r.Context(), dc, name, f.Type); err == nil {
			redirectDone(w, r, "/activity?cluster="+queryEscape(cl.Name), "backup-started", name)
			return
		}
		var fe *fieldError
		if errors.As(err, &fe) && fe.Field != "" {
			f.Errors[fe.Field] = fe.Msg
		} else {
			f.FormError = fileerr.OneLine(err.Error())
		}
	}
	f.Preview = s.preview(f.Cron)
	s.renderBackups(w, r, http.StatusUnprocessableEntity, cl, f)
}

// startBackup starts Controller.Backup in the background, as a
// MedusaBackupJob, and returns once the controller tracks it: the activity
// page the user is sent to shows it at once.
func (s *Server) startBackup(ctx context.Context, dc *control.Datacenter, name, typ string) error {
	if err := engine.ValidateName("backup", name); err != nil {
		return &fieldError{Field: "name", Msg: err.Error()}
	}
	for _, j := range s.ctl.Activity() {
		if j.Name == name && j.Cluster == dc.Cluster && j.Status == control.StatusInProgress {
			return &fieldError{Field: "name", Msg: fmt.Sprintf("backup %s is running in datacenter %s; choose another name", name, j.Datacenter)}
		}
	}
	lctx, cancel := context.WithTimeout(ctx, listTimeout)
	existing, err := s.ctl.ListBackups(lctx, dc)
	cancel()
	if err == nil {
		for _, b := range existing {
			if b.Name == name {
				return &fieldError{Field: "name", Msg: fmt.Sprintf("datacenter %s has a backup named %s (%s); choose another name", dc.Name, name, b.Status)}
			}
		}
	}
	tracked := make(chan struct{})
	failed := make(chan error, 1)
	var once sync.Once
	s.bgWG.Add(1)
	go func() {
		defer s.bgWG.Done()
		job, err := s.ctl.Backup(s.bg, control.BackupRequest{Datacenter: dc, Name: name, Type: typ,
			Progress: func(control.BackupJob) { once.Do(func() { close(tracked) }) }})
		if job == nil {
			failed <- err
			return
		}
		s.log.Info("console: backup ended", "backup", name, "datacenter", dc.Name, "status", job.Status)
	}()
	select {
	case <-tracked:
		s.log.Info("console: backup started", "backup", name, "datacenter", dc.Name, "type", typ)
		return nil
	case err := <-failed:
		return err
	}
}

type backupDetailData struct {
	Cluster string
	Backup  control.MedusaBackup
	Nodes   []nodeDetail
	Note    string
}

// nodeDetail is one node of a backup: the MedusaBackup's host, rack and
// tokens, with files and size from the repository when it can be read.
type nodeDetail struct {
	control.BackupNode
	Tokens int
	Files  string
	Size   string
}

func (s *Server) backupDetail(w http.ResponseWriter, r *http.Request) {
	cl := s.pathCluster(w, r)
	if cl == nil {
		return
	}
	name := r.PathValue("name")
	dcs := cl.Datacenters
	if want := r.URL.Query().Get("dc"); want != "" {
		dc, err := cl.FindDatacenter(want)
		if err != nil {
			s.notFound(w, r, err.Error())
			return
		}
		dcs = []*control.Datacenter{dc}
	}
	for _, dc := range dcs {
		ctx, cancel := context.WithTimeout(r.Context(), listTimeout)
		list, err := s.ctl.ListBackups(ctx, dc)
		cancel()
		if err != nil {
			continue
		}
		for _, b := range list {
			if b.Name == name {
				d := backupDetailData{Cluster: cl.Name, Backup: b}
				d.Nodes, d.Note = s.nodeDetails(r.Context(), dc, b)
				s.render(w, http.StatusOK, "backup", s.view(r, "backups", cl.Name, "Backup "+name, d))
				return
			}
		}
	}
	s.notFound(w, r, fmt.Sprintf("no sidecar of cluster %s lists a backup %s", cl.Name, strconv.Quote(name)))
}

func (s *Server) nodeDetails(ctx context.Context, dc *control.Datacenter, b control.MedusaBackup) ([]nodeDetail, string) {
	var st *repoStats
	note := "Files and size per node come from the repository: datacenter " + dc.Name + " names no storage configuration in the inventory."
	if dc.Storage != "" {
		st = s.repos.get(ctx, dc.Storage, false)
		note = ""
		if !st.Opened {
			note = "Files and size per node come from the repository, which the console cannot read: " + st.Why
		}
	}
	out := make([]nodeDetail, 0, len(b.Nodes))
	for _, n := range b.Nodes {
		nd := nodeDetail{BackupNode: n, Tokens: len(n.Tokens), Files: "-", Size: "-"}
		if st != nil && st.Opened {
			if nb, ok := st.nodeBackups[b.Name+"/"+n.Host]; ok {
				nd.Files, nd.Size = strconv.FormatInt(nb.Files, 10), humanBytes(nb.Bytes)
			}
		}
		out = append(out, nd)
	}
	return out, note
}
