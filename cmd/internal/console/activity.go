package console

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/cassette-backup/cassette/cmd/internal/control"
)

// jobView is a backup of Backup Activity: the controller's job and its
// progress. The Medusa API reports no bytes while a backup runs (each
// sidecar's /metrics does); bytes and throughput are known once the
// MedusaBackup is read at the end.
type jobView struct {
	control.BackupJob
	TotalNodes    int `json:"totalNodes"`
	FinishedNodes int `json:"finishedNodes"`
	FailedNodes   int `json:"failedNodes"`
	// Bytes is the MedusaBackup's totalSize, once the backup ended.
	Bytes int64 `json:"bytes"`
	// BytesPerSecond is Bytes over the backup's duration.
	BytesPerSecond int64 `json:"bytesPerSecond"`
	// Percent is the share of nodes that ended (finished or failed).
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
