package control

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dustin/go-humanize"
	"go.yaml.in/yaml/v3"

	"github.com/cassette-backup/cassette/cmd/internal/schedule"
	"github.com/cassette-backup/cassette/cmd/internal/suggest"
	"github.com/cassette-backup/cassette/cmd/internal/yamlnode"
)

// ScheduledOp is a MedusaBackupSchedule and the datacenters it runs on.
type ScheduledOp struct {
	Schedule    schedule.Schedule `json:"schedule" yaml:"schedule"`
	Datacenters []*Datacenter     `json:"-" yaml:"-"`
}

// LoadSchedules reads the MedusaBackupSchedule objects of the file at path
// (as schedule.Load does) and gives each the datacenter of cluster that its
// spec.backupSpec.cassandraDatacenter names. Without one, a schedule runs
// on the cluster's only datacenter; a purge schedule runs on all of them.
// notes are schedule.Load's remarks.
func LoadSchedules(path string, cl *Cluster) ([]ScheduledOp, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		// schedule.Load words the message.
		_, _, lerr := schedule.Load(path)
		return nil, nil, lerr
	}
	return ParseSchedules(path, data, cl)
}

// ParseSchedules is LoadSchedules on data; file names it in messages.
func ParseSchedules(file string, data []byte, cl *Cluster) ([]ScheduledOp, []string, error) {
	schedules, notes, err := schedule.Parse(file, data)
	if err != nil {
		return nil, nil, err
	}
	refs := scheduleDatacenters(data)
	ops := make([]ScheduledOp, 0, len(schedules))
	for _, s := range schedules {
		op := ScheduledOp{Schedule: s}
		ref := refs[s.Name]
		where := fmt.Sprintf("schedule %q: spec.backupSpec.cassandraDatacenter", s.Name)
		switch {
		case ref.name != "":
			dc, err := cl.FindDatacenter(ref.name)
			if err != nil {
				return nil, nil, &Error{File: file, Line: ref.line, Key: "spec.backupSpec.cassandraDatacenter",
					Msg: fmt.Sprintf("%s %q is not a datacenter of cluster %s in the inventory%s; use one of %s", where, ref.name, cl.Name,
						suggest.Hint(ref.name, cl.DatacenterNames()), strings.Join(cl.DatacenterNames(), ", "))}
			}
			op.Datacenters = []*Datacenter{dc}
		case len(cl.Datacenters) == 1 || s.Operation == schedule.OpPurge:
			op.Datacenters = cl.Datacenters
		default:
			return nil, nil, &Error{File: file, Line: s.Line, Key: "spec.backupSpec.cassandraDatacenter",
				Msg: fmt.Sprintf("%s is not set and cluster %s has %d datacenters; name the one the schedule backs up (%s)", where, cl.Name,
					len(cl.Datacenters), strings.Join(cl.DatacenterNames(), ", "))}
		}
		ops = append(ops, op)
	}
	return ops, notes, nil
}

type dcRef struct {
	name string
	line int
}

// scheduleDatacenters maps each schedule's metadata.name to its
// spec.backupSpec.cassandraDatacenter, in the document shapes schedule.Parse
// reads (which has checked the file: errors are ignored here).
func scheduleDatacenters(data []byte) map[string]dcRef {
	out := map[string]dcRef{}
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		n = yamlnode.Resolve(n)
		if n == nil || n.Kind != yaml.MappingNode || depth > 8 {
			return
		}
		if items := mappingValue(n, "items"); items != nil && items.Kind == yaml.SequenceNode {
			for _, it := range items.Content {
				walk(it, depth+1)
			}
			return
		}
		name := scalar(mappingValue(mappingValue(n, "metadata"), "name"))
		dc := mappingValue(mappingValue(mappingValue(n, "spec"), "backupSpec"), "cassandraDatacenter")
		if name != "" && scalar(dc) != "" {
			out[name] = dcRef{name: scalar(dc), line: dc.Line}
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			break
		}
		walk(&doc, 0)
	}
	return out
}

// ScheduleOptions configure NewScheduler.
type ScheduleOptions struct {
	// StatePath is the state file ("" keeps the state in memory).
	StatePath string
	// Clock is the wall clock when nil.
	Clock schedule.Clock
	// MaxRunning, ShutdownGrace: as schedule.Options.
	MaxRunning    int
	ShutdownGrace time.Duration
	// PurgeTimeout and SequentialPurge: PurgeRequest's Timeout and
	// Sequential for purge schedules.
	PurgeTimeout    time.Duration
	SequentialPurge bool
	// BackupProgress and PurgeProgress receive the progress of scheduled
	// operations.
	BackupProgress func(BackupJob)
	PurgeProgress  func(PurgeJob)
}

// NewScheduler returns a scheduler that runs ops on the sidecars of
// cluster: a backup schedule backs up its datacenter (the backup named
// <schedule>-<unix seconds>), a purge schedule purges its datacenters. A
// run is SUCCESS only when the operation succeeded on every node. The
// state records lastExecution and nextSchedule per schedule.
func (c *Controller) NewScheduler(cluster *Cluster, ops []ScheduledOp, o ScheduleOptions) (*schedule.Scheduler, error) {
	s, err := c.NewSchedules(cluster, ops, o)
	if err != nil {
		return nil, err
	}
	return s.Scheduler, nil
}

// Schedules is NewScheduler's scheduler with its operations, so that a
// console can add, enable, disable and remove schedules while it runs.
type Schedules struct {
	*schedule.Scheduler
	cluster *Cluster
	r       *scheduleRunner
}

// NewSchedules is NewScheduler, keeping the operations editable.
func (c *Controller) NewSchedules(cluster *Cluster, ops []ScheduledOp, o ScheduleOptions) (*Schedules, error) {
	byName := make(map[string]ScheduledOp, len(ops))
	schedules := make([]schedule.Schedule, 0, len(ops))
	for _, op := range ops {
		byName[op.Schedule.Name] = op
		schedules = append(schedules, op.Schedule)
	}
	r := &scheduleRunner{c: c, ops: byName, o: o}
	sch, err := schedule.New(schedule.Options{Schedules: schedules, Run: r.run, StatePath: o.StatePath, Node: "control-" + cluster.Name,
		Clock: o.Clock, Log: c.log.With("cluster", cluster.Name), MaxRunning: o.MaxRunning, ShutdownGrace: o.ShutdownGrace})
	if err != nil {
		return nil, err
	}
	return &Schedules{Scheduler: sch, cluster: cluster, r: r}, nil
}

// Cluster is the cluster the schedules run on.
func (s *Schedules) Cluster() *Cluster { return s.cluster }

// Put adds op, or replaces the schedule of its name, while the scheduler
// runs. Its datacenters must be the cluster's: build it with
// ParseSchedules.
func (s *Schedules) Put(op ScheduledOp) error {
	if len(op.Datacenters) == 0 {
		return fmt.Errorf("schedule %q has no datacenter of cluster %s", op.Schedule.Name, s.cluster.Name)
	}
	for _, dc := range op.Datacenters {
		if dc.Cluster != s.cluster.Name {
			return fmt.Errorf("schedule %q: datacenter %s is not in cluster %s", op.Schedule.Name, dc.Name, s.cluster.Name)
		}
	}
	s.r.mu.Lock()
	prev, had := s.r.ops[op.Schedule.Name]
	s.r.ops[op.Schedule.Name] = op
	s.r.mu.Unlock()
	if err := s.Scheduler.Put(op.Schedule); err != nil {
		s.r.mu.Lock()
		if had {
			s.r.ops[op.Schedule.Name] = prev
		} else {
			delete(s.r.ops, op.Schedule.Name)
		}
		s.r.mu.Unlock()
		return err
	}
	return nil
}

// Remove drops the named schedule (refused while it runs: schedule.ErrBusy).
func (s *Schedules) Remove(name string) error {
	if err := s.Scheduler.Remove(name); err != nil {
		return err
	}
	s.r.mu.Lock()
	delete(s.r.ops, name)
	s.r.mu.Unlock()
	return nil
}

// Ops returns the schedules as they are now (enabled or not), with their
// datacenters, in the order they were added.
func (s *Schedules) Ops() []ScheduledOp {
	schedules := s.Scheduler.Schedules()
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	out := make([]ScheduledOp, 0, len(schedules))
	for _, sch := range schedules {
		op := s.r.ops[sch.Name]
		op.Schedule = sch
		out = append(out, op)
	}
	return out
}

type scheduleRunner struct {
	c  *Controller
	o  ScheduleOptions
	mu sync.Mutex // guards ops, which Schedules changes at runtime
	// ops are the operations by schedule name.
	ops map[string]ScheduledOp
}

func (r *scheduleRunner) run(ctx context.Context, s schedule.Schedule, at time.Time) (schedule.Result, error) {
	r.mu.Lock()
	op, ok := r.ops[s.Name]
	r.mu.Unlock()
	if !ok || len(op.Datacenters) == 0 {
		return schedule.Result{}, fmt.Errorf("schedule %s has no datacenter", s.Name)
	}
	if s.Operation == schedule.OpPurge {
		return r.purge(ctx, op)
	}
	dc := op.Datacenters[0]
	name := s.BackupName(at)
	job, err := r.c.Backup(ctx, BackupRequest{Datacenter: dc, Name: name, Type: s.BackupType, Progress: r.o.BackupProgress})
	if job == nil {
		return schedule.Result{Backup: name}, err
	}
	sum := fmt.Sprintf("datacenter %s: %s, %d of %d nodes", dc.Name, job.Status, len(job.Finished), len(job.Nodes))
	if b := job.Backup; b != nil && job.Status == StatusSuccess {
		sum += fmt.Sprintf(", %d files, %s", b.TotalFiles, humanize.IBytes(uint64(max(b.TotalSize, 0))))
	}
	return schedule.Result{Backup: name, Summary: sum}, err
}

func (r *scheduleRunner) purge(ctx context.Context, op ScheduledOp) (schedule.Result, error) {
	var parts []string
	var errs []error
	for _, dc := range op.Datacenters {
		job, err := r.c.Purge(ctx, PurgeRequest{Datacenter: dc, Timeout: r.o.PurgeTimeout, Sequential: r.o.SequentialPurge, Progress: r.o.PurgeProgress})
		if err != nil {
			errs = append(errs, err)
		}
		if job == nil {
			continue
		}
		var backups, objects int64
		var size int64
		for _, pn := range job.Nodes {
			backups += int64(pn.NbBackupsPurged)
			objects += int64(pn.NbObjectsPurged)
			size += pn.TotalPurgedSize
		}
		parts = append(parts, fmt.Sprintf("datacenter %s: %s, %d nodes, %d backups and %d objects purged, %s freed",
			dc.Name, job.Status, len(job.Nodes), backups, objects, humanize.IBytes(uint64(max(size, 0)))))
	}
	res := schedule.Result{Summary: strings.Join(parts, "; ")}
	if len(errs) > 0 {
		return res, failure("%s", joinErrors(errs))
	}
	return res, nil
}
