package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/cassette-backup/cassette/cmd/internal/fileerr"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageNames are the templates rendered as whole pages, each with the
// layout.
var pageNames = []string{"storage", "storage_form", "storage_delete", "backups", "backup", "activity",
	"schedules", "schedule_delete", "repository", "error"}

// pages holds one template set per page: the layout and the page's
// "content" (and partials shared by several pages).
type pages struct {
	set map[string]*template.Template
}

func parsePages() (*pages, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("console templates: %w", err)
	}
	p := &pages{set: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", name, err)
		}
		p.set[name] = t
	}
	return p, nil
}

var funcs = template.FuncMap{
	"bytes": humanBytes,
	"ts":    stamp,
	"tsp": func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return stamp(*t)
	},
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"lower": strings.ToLower,
	"join":  strings.Join,
	"add":   func(a, b int) int { return a + b },
	"minus": func(a, b float64) float64 { return a - b },
	"field": newField,
	"or": func(s, alt string) string {
		if s == "" {
			return alt
		}
		return s
	},
	"statusClass": func(s string) string { return "status status-" + strings.ToLower(strings.ReplaceAll(s, "_", "-")) },
}

// view is what the layout needs besides the page's own data.
type view struct {
	Title    string
	Nav      string // the current nav entry: storage, backups, activity, schedules, repository
	Page     string // the picker's page parameter
	Cluster  string
	Clusters []string
	CSRF     string
	Notice   string // one line: what the last action did
	Refresh  int    // seconds of the no-JavaScript refresh; 0 for none
	Poll     int    // milliseconds between live updates
	Data     any
}

func (s *Server) view(r *http.Request, nav, cluster, title string, data any) *view {
	v := &view{Title: title, Nav: nav, Page: nav, Cluster: cluster, CSRF: s.csrf, Data: data,
		Poll: int(s.o.PollInterval / time.Millisecond), Notice: notice(r)}
	for _, cl := range s.inv.Clusters {
		v.Clusters = append(v.Clusters, cl.Name)
	}
	return v
}

// render writes page with the layout. It renders to memory first so that a
// template error is a clean 500, not half a page.
func (s *Server) render(w http.ResponseWriter, status int, page string, v *view) {
	var buf bytes.Buffer
	if err := s.pages.set[page].ExecuteTemplate(&buf, "layout.html", v); err != nil {
		s.log.Error("console: render", "page", page, "err", err)
		http.Error(w, "500 internal error: the page could not be rendered (see the console's log)", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderPartial writes one named template of page alone (live updates).
func (s *Server) renderPartial(w http.ResponseWriter, page, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages.set[page].ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("console: render", "page", page, "partial", name, "err", err)
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

// fieldView is one labelled input of a form, with its hint and error.
type fieldView struct {
	ID, Name, Label, Value, Hint, Error, Type, Placeholder string
	ReadOnly                                               bool
}

// Describe is the input's aria-describedby: its hint and error.
func (f fieldView) Describe() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// newField is the template's field: id, name, label, value, the form's
// errors, hint; options ("readonly", "type=number", "placeholder=x")
// follow.
func newField(id, name, label, value string, errs map[string]string, hint string, opts ...string) fieldView {
	f := fieldView{ID: id, Name: name, Label: label, Value: value, Hint: hint, Error: errs[name], Type: "text"}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "readonly":
			f.ReadOnly = true
		case "type":
			f.Type = v
		case "placeholder":
			f.Placeholder = v
		}
	}
	return f
}

type errorData struct {
	Status  int
	Message string
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, status, "error", s.view(r, "", s.cluster(r.URL.Query().Get("cluster")).Name, http.StatusText(status),
		errorData{Status: status, Message: fileerr.OneLine(msg)}))
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, msg string) {
	s.fail(w, r, http.StatusNotFound, msg)
}

// Notices after a redirect are chosen from a fixed list by code, with a
// name: a link cannot make the console say anything else.
var notices = map[string]string{
	"storage-created":  "Storage configuration %s created.",
	"storage-modified": "Storage configuration %s modified.",
	"storage-deleted":  "Storage configuration %s deleted.",
	"backup-started":   "Backup %s started.",
	"schedule-created": "Schedule %s created.",
	"schedule-enabled": "Schedule %s enabled.",
	"schedule-disable": "Schedule %s disabled.",
	"schedule-deleted": "Schedule %s deleted.",
}

func notice(r *http.Request) string {
	q := r.URL.Query()
	f, ok := notices[q.Get("done")]
	if !ok || !validName(q.Get("name")) {
		return ""
	}
	return fmt.Sprintf(f, q.Get("name"))
}

func redirectDone(w http.ResponseWriter, r *http.Request, to, code, name string) {
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	http.Redirect(w, r, to+sep+"done="+code+"&name="+queryEscape(name), http.StatusSeeOther)
}

func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no listing
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// stamp is t as the console shows times: UTC, to the second.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// humanBytes is n in binary units, "1.5 MiB".
func humanBytes(n int64) string {
	if n <= 0 {
		return "0 B"
	}
	return humanize.IBytes(uint64(n))
}

func pathEscape(s string) string  { return url.PathEscape(s) }
func queryEscape(s string) string { return url.QueryEscape(s) }
