package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cassette-backup/cassette/cmd/internal/control"
	"github.com/cassette-backup/cassette/cmd/internal/schedule"
	"github.com/cassette-backup/cassette/providers"
)

// Options configure a Server.
type Options struct {
	// Controller drives the sidecars of its inventory's clusters.
	Controller *control.Controller
	// StateDir holds what the console creates: storage configurations,
	// schedules and their state (see the package comment). Required.
	StateDir string
	// CacheDir holds the index caches of repositories the Repository page
	// reads (StateDir/cache when empty).
	CacheDir string
	// Users, when set, is the basic-auth credential every request needs.
	Users *Users
	// Clock is the schedulers' time and the console's "now" (RealClock
	// when nil): tests inject a schedule.FakeClock to fire schedules.
	Clock schedule.Clock
	// Log receives what the console does; nil discards.
	Log *slog.Logger
	// MaxRunning and ShutdownGrace: as control.ScheduleOptions.
	MaxRunning    int
	ShutdownGrace time.Duration
	// OpenStorage opens a storage configuration read-only for the
	// Repository page; nil means the repository is never opened (only the
	// sidecars' totals are shown). cmd wires providers/all.Open.
	OpenStorage func(ctx context.Context, sp providers.StorageProperties) (providers.Storage, error)
	// PollInterval is how often the activity page refreshes (1 s when 0).
	PollInterval time.Duration
}

// Server is the web console. Create it with New, serve its Handler, run
// its schedules with Run, and Close it.
type Server struct {
	o       Options
	ctl     *control.Controller
	inv     *control.Inventory
	log     *slog.Logger
	clock   schedule.Clock
	csrf    string
	pages   *pages
	storage *storageStore
	scheds  map[string]*clusterSchedules // by cluster name
	repos   *repoCache

	// bg is the context of backups started with "Run now": cancelled by
	// Close (the sidecars go on; the activity shows UNKNOWN).
	bg       context.Context
	bgCancel context.CancelFunc
	bgWG     sync.WaitGroup
	closeMu  sync.Mutex
	releases []func()
}

// New prepares the console: it reads its state folder and takes the lock
// of every cluster's schedule state, so that one console runs per state
// folder.
func New(o Options) (*Server, error) {
	if o.Controller == nil || o.StateDir == "" {
		return nil, errors.New("console: Options.Controller and Options.StateDir are required")
	}
	if o.Clock == nil {
		o.Clock = schedule.RealClock{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.CacheDir == "" {
		o.CacheDir = filepath.Join(o.StateDir, "cache")
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("console state folder: %w (set --state-dir)", err)
	}
	s := &Server{o: o, ctl: o.Controller, inv: o.Controller.Inventory(), log: o.Log, clock: o.Clock, csrf: newToken(),
		scheds: map[string]*clusterSchedules{}}
	s.bg, s.bgCancel = context.WithCancel(context.Background())
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	if s.storage, err = openStorageStore(o.StateDir, s.inv); err != nil {
		return nil, err
	}
	s.repos = &repoCache{s: s, entries: map[string]*repoStats{}}
	for _, cl := range s.inv.Clusters {
		cs, release, err := s.openSchedules(cl)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.releases = append(s.releases, release)
		s.scheds[cl.Name] = cs
	}
	return s, nil
}

// Run runs every cluster's schedules until ctx is done, then lets running
// scheduled operations end within the shutdown grace.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(s.inv.Clusters))
	for i, cl := range s.inv.Clusters {
		cs := s.scheds[cl.Name]
		wg.Go(func() { errs[i] = cs.s.Run(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Abort stops the schedules at once, cancelling their running operations
// (a second interrupt).
func (s *Server) Abort() {
	for _, cs := range s.scheds {
		cs.s.Abort()
	}
}

// Close stops watching the backups started with "Run now" and releases the
// state folder.
func (s *Server) Close() error {
	s.bgCancel()
	s.bgWG.Wait()
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	for _, r := range s.releases {
		r()
	}
	s.releases = nil
	return nil
}

// Handler is the console: every route behind the credential (when there
// is one) and the cross-site checks.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.routes(mux)
	var h http.Handler = checkCSRF(s.csrf, mux)
	if s.o.Users != nil {
		h = requireUser(s.o.Users, h)
	}
	return securityHeaders(h)
}

func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.home)
	mux.Handle("GET /static/", staticHandler())
	mux.HandleFunc("GET /pick", s.pick)

	mux.HandleFunc("GET /storage", s.storageList)
	mux.HandleFunc("GET /storage/new", s.storageNew)
	mux.HandleFunc("POST /storage", s.storageCreate)
	mux.HandleFunc("GET /storage/{name}/edit", s.storageEdit)
	mux.HandleFunc("POST /storage/{name}", s.storageUpdate)
	mux.HandleFunc("GET /storage/{name}/delete", s.storageDeleteConfirm)
	mux.HandleFunc("POST /storage/{name}/delete", s.storageDelete)

	mux.HandleFunc("GET /clusters/{cluster}/backups", s.backupsPage)
	mux.HandleFunc("POST /clusters/{cluster}/backups", s.backupCreate)
	mux.HandleFunc("GET /clusters/{cluster}/backups/{name}", s.backupDetail)

	mux.HandleFunc("GET /activity", s.activityPage)
	mux.HandleFunc("GET /activity/live", s.activityLive)
	mux.HandleFunc("GET /api/activity", s.activityJSON)
	mux.HandleFunc("GET /api/cron", s.cronJSON)

	mux.HandleFunc("GET /schedules", s.schedulesPage)
	mux.HandleFunc("POST /schedules/{cluster}/{name}/toggle", s.scheduleToggle)
	mux.HandleFunc("GET /schedules/{cluster}/{name}/delete", s.scheduleDeleteConfirm)
	mux.HandleFunc("POST /schedules/{cluster}/{name}/delete", s.scheduleDelete)

	mux.HandleFunc("GET /repository", s.repositoryPage)
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/clusters/"+pathEscape(s.inv.Clusters[0].Name)+"/backups", http.StatusSeeOther)
}

// pick is the cluster picker: the same page, for the cluster chosen.
func (s *Server) pick(w http.ResponseWriter, r *http.Request) {
	cl := s.cluster(r.URL.Query().Get("cluster"))
	switch page := r.URL.Query().Get("page"); page {
	case "storage", "activity", "schedules", "repository":
		http.Redirect(w, r, "/"+page+"?cluster="+queryEscape(cl.Name), http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/clusters/"+pathEscape(cl.Name)+"/backups", http.StatusSeeOther)
	}
}

// cluster is the named cluster, or the first one.
func (s *Server) cluster(name string) *control.Cluster {
	for _, cl := range s.inv.Clusters {
		if cl.Name == name {
			return cl
		}
	}
	return s.inv.Clusters[0]
}

// pathCluster is the cluster of a /clusters/{cluster}/ route, or nil after
// answering 404.
func (s *Server) pathCluster(w http.ResponseWriter, r *http.Request) *control.Cluster {
	name := r.PathValue("cluster")
	for _, cl := range s.inv.Clusters {
		if cl.Name == name {
			return cl
		}
	}
	s.notFound(w, r, fmt.Sprintf("no cluster %q in the inventory", name))
	return nil
}

func (s *Server) now() time.Time { return s.clock.Now().UTC().Round(0) }
