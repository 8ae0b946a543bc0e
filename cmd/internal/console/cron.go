package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/cassette-backup/cassette/cmd/internal/schedule"
)

// previewRuns is how many next run times a cron preview lists.
const previewRuns = 5

// cronPreview is a cron expression's next run times, or why it is not
// valid.
type cronPreview struct {
	Expr  string
	Next  []time.Time
	Error string
}

func (s *Server) preview(expr string) cronPreview {
	p := cronPreview{Expr: strings.TrimSpace(expr)}
	if p.Expr == "" {
		return p
	}
	next, err := schedule.NextRuns(p.Expr, s.now(), previewRuns)
	if err != nil {
		p.Error = err.Error()
	}
	p.Next = next
	return p
}

// cronJSON checks ?expr= as spec.cronSchedule is checked and answers
// {"expr", "valid": true, "next": [five RFC 3339 UTC times]} or {"expr",
// "valid": false, "error": one line}.
func (s *Server) cronJSON(w http.ResponseWriter, r *http.Request) {
	p := s.preview(r.URL.Query().Get("expr"))
	if p.Expr == "" {
		p.Error = "enter a cron expression: five fields (minute hour day-of-month month day-of-week), e.g. 30 1 * * *"
	}
	if p.Error != "" {
		writeJSON(w, http.StatusOK, map[string]any{"expr": p.Expr, "valid": false, "error": p.Error})
		return
	}
	next := make([]string, 0, len(p.Next))
	for _, t := range p.Next {
		next = append(next, t.UTC().Format(time.RFC3339))
	}
	writeJSON(w, http.StatusOK, map[string]any{"expr": p.Expr, "valid": true, "next": next})
}
