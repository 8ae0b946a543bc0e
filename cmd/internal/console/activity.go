package console

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/cassette-backup/cassette/cmd/internal/control"
)

// jobView is a backup of Backup Activity: the controller's job and its
// progress. While a backup runs, bytes come from the progress headers that
// cassette sidecars add to BackupStatus (a Medusa sidecar sends none: its
// bytes are known once the MedusaBackup is read at the end).
type jobView struct {
	control.BackupJob
	TotalNodes    int `json:"totalNodes"`
	FinishedNodes int `json:"finishedNodes"`
	FailedNodes   int `json:"failedNodes"`
	// Bytes is what the nodes have backed up so far, then the
	// MedusaBackup's totalSize once the backup ended.
	Bytes int64 `json:"bytes"`
	// BytesTotal is the nodes' data in all, when every node announced it.
	BytesTotal int64 `json:"bytesTotal"`
	// BytesPerSecond is Bytes over the time the backup has run.
	BytesPerSecond int64 `json:"bytesPerSecond"`
	// Percent is the share of bytes done when every node reports its
	// progress, else the share of nodes that ended (finished or failed).
	Percent int `json:"percent"`
}

type activityData struct {
	Cluster string
	Jobs    []jobView
}

func (s *Server) activity(cluster string) activityData {
	d := activityData{Cluster: cluster, Jobs: []jobView{}}
	for _, j := range s.ctl.Activity() {
		if j.Cluster != cluster {
			continue
		}
		v := jobView{BackupJob: j, TotalNodes: len(j.Nodes)}
		for _, nr := range j.Nodes {
			switch nr.Status {
			case control.StatusSuccess:
				v.FinishedNodes++
			case control.StatusFailed:
				v.FailedNodes++
			}
		}
		if v.TotalNodes > 0 {
			v.Percent = (v.FinishedNodes + v.FailedNodes) * 100 / v.TotalNodes
		}
		s.liveBytes(&v)
		if b := j.Backup; b != nil {
			v.Bytes = b.TotalSize
			start, end := b.StartTime, b.FinishTime
			if start.IsZero() || end.IsZero() {
				start, end = j.StartTime, j.FinishTime
			}
			if d := end.Sub(start); d >= time.Second {
				v.BytesPerSecond = int64(float64(b.TotalSize) / d.Seconds())
			}
		}
		d.Jobs = append(d.Jobs, v)
	}
	return d
}

// liveBytes fills a running backup's bytes, rate and share done from its
// nodes' progress.
func (s *Server) liveBytes(v *jobView) {
	all := v.TotalNodes > 0
	for _, nr := range v.Nodes {
		p := nr.Progress
		if p == nil {
			all = false
			continue
		}
		v.Bytes += p.BytesDone
		v.BytesTotal += p.BytesTotal
		if p.BytesTotal <= 0 {
			all = false
		}
	}
	end := v.FinishTime
	if end.IsZero() {
		end = time.Now()
	}
	if d := end.Sub(v.StartTime); d >= time.Second {
		v.BytesPerSecond = int64(float64(v.Bytes) / d.Seconds())
	}
	if all && v.Status == control.StatusInProgress {
		v.Percent = int(min(100, v.Bytes*100/v.BytesTotal))
	} else if !all {
		v.BytesTotal = 0
	}
}

func (s *Server) activityPage(w http.ResponseWriter, r *http.Request) {
	cl := s.cluster(r.URL.Query().Get("cluster"))
	v := s.view(r, "activity", cl.Name, "Backup Activity", s.activity(cl.Name))
	v.Refresh = 5
	s.render(w, http.StatusOK, "activity", v)
}

// activityLive is the inside of #activity, which the script fetches every
// PollInterval and swaps in.
func (s *Server) activityLive(w http.ResponseWriter, r *http.Request) {
	cl := s.cluster(r.URL.Query().Get("cluster"))
	s.renderPartial(w, "activity", "activity-list", s.activity(cl.Name))
}

// activityJSON is Backup Activity as JSON: {"cluster", "backups": [...]},
// each backup the controller's BackupJob with its progress.
func (s *Server) activityJSON(w http.ResponseWriter, r *http.Request) {
	cl := s.cluster(r.URL.Query().Get("cluster"))
	d := s.activity(cl.Name)
	writeJSON(w, http.StatusOK, map[string]any{"cluster": d.Cluster, "backups": d.Jobs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
