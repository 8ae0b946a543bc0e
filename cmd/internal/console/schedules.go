package console

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/cassette-backup/cassette/cmd/internal/control"
	"github.com/cassette-backup/cassette/cmd/internal/schedule"
)

// clusterSchedules are one cluster's schedules: the scheduler that runs
// them inside the console and the file that keeps them.
type clusterSchedules struct {
	cl    *control.Cluster
	s     *control.Schedules
	file  string // schedules-<cluster>.yaml
	state string // schedules/control-<cluster>.json
	mu    sync.Mutex
}

// openSchedules loads the cluster's schedules file and locks its state, so
// that a second console on the same state folder refuses to start instead
// of running every schedule twice.
func (s *Server) openSchedules(cl *control.Cluster) (*clusterSchedules, func(), error) {
	cs := &clusterSchedules{cl: cl, file: filepath.Join(s.o.StateDir, "schedules-"+cl.Name+".yaml"),
		state: schedule.StatePath(s.o.StateDir, "control-"+cl.Name)}
	var ops []control.ScheduledOp
	if _, err := os.Stat(cs.file); err == nil {
		var notes []string
		if ops, notes, err = control.LoadSchedules(cs.file, cl); err != nil {
			return nil, nil, fmt.Errorf("%w (the console writes this file; fix it or move it aside)", err)
		}
		for _, n := range notes {
			s.log.Warn(n)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("read schedules %s: %w", cs.file, err)
	}
	release, err := schedule.LockState(cs.state)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster %s: %w", cl.Name, err)
	}
	cs.s, err = s.ctl.NewSchedules(cl, ops, control.ScheduleOptions{StatePath: cs.state, Clock: s.clock,
		MaxRunning: s.o.MaxRunning, ShutdownGrace: s.o.ShutdownGrace})
	if err != nil {
		release()
		return nil, nil, err
	}
	return cs, release, nil
}

// scheduleDoc is a MedusaBackupSchedule as the console writes it.
type scheduleDoc struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		BackupSpec struct {
			BackupType          string `yaml:"backupType,omitempty"`
			CassandraDatacenter string `yaml:"cassandraDatacenter,omitempty"`
		} `yaml:"backupSpec"`
		CronSchedule      string `yaml:"cronSchedule"`
		Disabled          bool   `yaml:"disabled"`
		OperationType     string `yaml:"operationType,omitempty"`
		ConcurrencyPolicy string `yaml:"concurrencyPolicy,omitempty"`
	} `yaml:"spec"`
}

func newScheduleDoc(sch schedule.Schedule, dc string) scheduleDoc {
	var d scheduleDoc
	d.APIVersion, d.Kind, d.Metadata.Name = "medusa.k8ssandra.io/v1alpha1", "MedusaBackupSchedule", sch.Name
	d.Spec.CronSchedule, d.Spec.Disabled = sch.Cron, sch.Disabled
	d.Spec.BackupSpec.CassandraDatacenter = dc
	if sch.Operation == schedule.OpPurge {
		d.Spec.OperationType = schedule.OpPurge
	} else {
		d.Spec.BackupSpec.BackupType = sch.BackupType
	}
	if sch.Concurrency == schedule.Allow {
		d.Spec.ConcurrencyPolicy = schedule.Allow
	}
	return d
}

// save writes the schedules as they are now; none removes the file.
func (cs *clusterSchedules) save() error {
	ops := cs.s.Ops()
	if len(ops) == 0 {
		if err := os.Remove(cs.file); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", cs.file, err)
		}
		return nil
	}
	var buf bytes.Buffer
	buf.WriteString("# MedusaBackupSchedule objects of cluster " + cs.cl.Name + ", written by `cassette control --http`.\n" +
		"# Their state (lastExecution, nextSchedule) is in schedules/control-" + cs.cl.Name + ".json.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	for _, op := range ops {
		dc := ""
		if len(op.Datacenters) == 1 {
			dc = op.Datacenters[0].Name
		}
		if err := enc.Encode(newScheduleDoc(op.Schedule, dc)); err != nil {
			return err
		}
	}
	if err := enc.Close(); err != nil {
		return err
	}
	return writeFileAtomic(cs.file, buf.Bytes())
}

// create adds a backup schedule named name for datacenter dc, checked as
// a MedusaBackupSchedule file is (control.ParseSchedules), persists it and
// hands it to the running scheduler. Problems are field errors.
func (cs *clusterSchedules) create(name, dc, typ, cron string) error {
	if _, err := schedule.ParseCron(name, cron); err != nil {
		return &fieldError{Field: "cron", Msg: err.Error()}
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for _, op := range cs.s.Ops() {
		if op.Schedule.Name == name {
			return &fieldError{Field: "name", Msg: fmt.Sprintf("cluster %s has a schedule named %s; choose another name", cs.cl.Name, name)}
		}
	}
	var d scheduleDoc
	d.APIVersion, d.Kind, d.Metadata.Name = "medusa.k8ssandra.io/v1alpha1", "MedusaBackupSchedule", name
	d.Spec.CronSchedule, d.Spec.BackupSpec.BackupType, d.Spec.BackupSpec.CassandraDatacenter = cron, typ, dc
	data, err := yaml.Marshal(d)
	if err != nil {
		return err
	}
	ops, _, err := control.ParseSchedules("form", data, cs.cl)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "form: ")
		msg = strings.TrimPrefix(msg, fmt.Sprintf("schedule %q: ", name))
		switch {
		case strings.Contains(msg, "metadata.name"):
			return &fieldError{Field: "name", Msg: msg}
		case strings.Contains(msg, "cassandraDatacenter"):
			return &fieldError{Field: "datacenter", Msg: msg}
		case strings.Contains(msg, "backupType"):
			return &fieldError{Field: "type", Msg: msg}
		}
		return &fieldError{Field: "cron", Msg: msg}
	}
	if err := cs.s.Put(ops[0]); err != nil {
		return err
	}
	if err := cs.save(); err != nil {
		cs.s.Remove(name)
		return err
	}
	return nil
}

// setEnabled enables or disables a schedule and persists it.
func (cs *clusterSchedules) setEnabled(name string, enabled bool) error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if err := cs.s.SetDisabled(name, !enabled); err != nil {
		return err
	}
	if err := cs.save(); err != nil {
		cs.s.SetDisabled(name, enabled)
		return err
	}
	return nil
}

// remove deletes a schedule (refused while it runs) and persists it.
func (cs *clusterSchedules) remove(name string) error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var keep *control.ScheduledOp
	for _, op := range cs.s.Ops() {
		if op.Schedule.Name == name {
			keep = &op
		}
	}
	if err := cs.s.Remove(name); err != nil {
		return err
	}
	if err := cs.save(); err != nil {
		if keep != nil {
			cs.s.Put(*keep)
		}
		return err
	}
	return nil
}
