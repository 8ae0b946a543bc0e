package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/cmd/internal/config"
	"github.com/cassette-backup/cassette/cmd/internal/medusapb"
	"github.com/cassette-backup/cassette/cmd/internal/restorepb"
	"github.com/cassette-backup/cassette/engine"
	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/all"
)

// Where the Medusa container finds things (MEDUSA-COMPAT "Mounts").
const (
	// defaultStateDir is Cassandra's data root in the pod: .last-restore
	// and .restore_mapping/ live there, and data/ when no data directory
	// is configured.
	defaultStateDir = "/var/lib/cassandra"
	// shutdownWait bounds how long a stopping server waits for the running
	// backup to record its cancellation and for calls in flight.
	shutdownWait = 20 * time.Second
)

// medusaINIPath is the medusa.ini the operator mounts; serve and entrypoint
// read it when no configuration is named. A variable for tests.
var medusaINIPath = "/etc/medusa/medusa.ini"

type serveOptions struct {
	listen, metricsAddr, stateDir, node string
	runningCheck                        string
	noCreate                            bool
	configCheck                         time.Duration
}

// serveFlags are the flags of serve, and of entrypoint's GRPC mode;
// configCheck is the default of --config-check-interval.
func serveFlags(configCheck time.Duration) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "listen", EnvVars: []string{"CASSETTE_LISTEN"},
			Usage: "gRPC `ADDRESS` host:port (default: all interfaces, port grpc.port / medusa.ini [grpc] port, else 50051)"},
		&cli.StringFlag{Name: "metrics-addr", EnvVars: []string{"CASSETTE_METRICS_ADDR"},
			Usage: "serve Prometheus metrics at http://`ADDRESS`/metrics, e.g. :9091 (default: no metrics)"},
		&cli.StringFlag{Name: "state-dir", Value: defaultStateDir, EnvVars: []string{"CASSETTE_STATE_DIR"},
			Usage: "Cassandra's data root: restore mappings go to .restore_mapping/, restores are recorded in .last-restore, and data/ is the data directory when cassandra.dataDirs is unset"},
		&cli.StringFlag{Name: "node", Usage: "this node's name in backups (default: cassandra.node, else $POD_NAME, else the host name)"},
		&cli.StringFlag{Name: "running-check", EnvVars: []string{"CASSETTE_RUNNING_CHECK"},
			Usage: "shell `COMMAND` that exits 0 while Cassandra runs on this node: NodeRestore's StartRestore refuses then (default: ask nodetool, as configured in cassandra.nodetool)"},
		&cli.BoolFlag{Name: "no-create-repository", Usage: "fail when the bucket holds no repository, instead of creating one (the first node to start creates it)"},
		&cli.DurationFlag{Name: "config-check-interval", Value: configCheck,
			Usage: "check the configuration file this often; when it changed and no backup or restore runs, exit 0 so that Kubernetes restarts the container with it (0: never)"},
	}
}

func serveOptionsFrom(c *cli.Context) serveOptions {
	return serveOptions{
		listen: c.String("listen"), metricsAddr: c.String("metrics-addr"), stateDir: c.String("state-dir"), node: c.String("node"),
		runningCheck: c.String("running-check"), noCreate: c.Bool("no-create-repository"), configCheck: c.Duration("config-check-interval"),
	}
}

func newServeCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the Medusa gRPC service for this node (the k8ssandra-operator sidecar), with health checks and metrics",
		Description: "serve answers the gRPC service Medusa's sidecar answers (service Medusa: AsyncBackup, BackupStatus,\n" +
			"GetBackups, PurgeBackups, DeleteBackup, PrepareRestore...) and grpc.health.v1.Health, so that\n" +
			"k8ssandra-operator and Mission Control drive cassette unchanged; beside it, cassette's own NodeRestore\n" +
			"service lets `cassette control restore --run` restore the node in place. Without --config it reads\n" +
			"/etc/medusa/medusa.ini when present. TLS: grpc.tlsCert and grpc.tlsKey; with grpc.caCert too,\n" +
			"clients must present a certificate (mutual TLS). It stops on SIGTERM, cancelling a running backup or restore.",
		Flags: serveFlags(0),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("serve takes no arguments (got %q)", c.Args().First())
			}
			return runServe(c, serveOptionsFrom(c))
		},
	}
}

// useMedusaINI names /etc/medusa/medusa.ini as the configuration when
// neither --config nor CASSETTE_CONFIG names one and the file exists.
func useMedusaINI(c *cli.Context) error {
	if c.String("config") != "" {
		return nil
	}
	if fi, err := os.Stat(medusaINIPath); err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	return c.Set("config", medusaINIPath)
}

// openServeSession opens the repository, creating it first when the bucket
// holds none and create is set: the operator runs no `cassette init`, and
// when every node starts at once one creation wins (a create-if-absent
// write) and the others open what it made.
func openServeSession(c *cli.Context, create bool) (*session, error) {
	s, err := openSession(c)
	if err == nil || !create || !(errors.Is(err, chunkstore.ErrNoRepository) || errors.Is(err, providers.ErrNotFound)) {
		return s, err
	}
	cfg, err := loadConfig(c)
	if err != nil {
		return nil, err
	}
	log, err := newLogger(c)
	if err != nil {
		return nil, err
	}
	st, err := all.Create(c.Context, cfg.Storage, all.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	repo, err := chunkstore.Init(c.Context, st, chunkstore.InitOptions{}, chunkstore.Options{CacheDir: cfg.CacheDir, Logger: log})
	switch {
	case err == nil:
		repo.Close()
		log.Warn("the bucket held no repository: created one", "storage", st.Properties().Name)
	case !errors.Is(err, chunkstore.ErrRepositoryExists):
		st.Close(c.Context)
		return nil, err
	}
	st.Close(c.Context)
	return openSession(c)
}

// defaultDataDirs makes <state dir>/data the data directory when the
// configuration names none (medusa.ini's cassandra.yaml may not list
// data_file_directories: Cassandra then uses its default).
func defaultDataDirs(s *session, stateDir string) {
	if len(s.cfg.Cassandra.DataDirs) == 0 {
		d := filepath.Join(stateDir, "data")
		s.log.Info("no data directory configured; using the default", "dir", d)
		s.cfg.Cassandra.DataDirs = []string{d}
	}
}

func runServe(c *cli.Context, o serveOptions) error {
	if err := useMedusaINI(c); err != nil {
		return err
	}
	s, err := openServeSession(c, !o.noCreate)
	if err != nil {
		return err
	}
	defer s.close(context.Background())
	g := s.cfg.GRPC
	if g.Enabled != nil && !*g.Enabled {
		s.log.Warn("[grpc] enabled is false in the configuration; serving anyway, as asked")
	}
	defaultDataDirs(s, o.stateDir)
	node := firstSet(o.node, s.cfg.Cassandra.Node, defaultNode())
	if err := engine.ValidateName("node", node); err != nil {
		return usagef("%v: set cassandra.node, --node or POD_NAME", err)
	}
	tc, err := serverTLS(g)
	if err != nil {
		return err
	}
	addr := o.listen
	if addr == "" {
		addr = ":" + strconv.Itoa(g.ListenPort())
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for gRPC on %s: %w (is another process using the port? set grpc.port or --listen)", addr, err)
	}
	m := newMetrics()
	ms := newMedusaServer(s, node, o.stateDir, m)
	rs := newNodeRestoreServer(ms, o.runningCheck)
	srv, hs := newGRPCServer(ms, rs, g, tc)

	var metricsSrv *metricsServer
	if o.metricsAddr != "" {
		if metricsSrv, err = startMetrics(m, o.metricsAddr, s.log); err != nil {
			lis.Close()
			return err
		}
		defer metricsSrv.shutdown()
	}
	security := "plain text"
	switch {
	case g.MutualTLS():
		security = "mutual TLS"
	case g.TLS():
		security = "TLS"
	}
	line := fmt.Sprintf("cassette serve: node %s, gRPC (%s) on %s", node, security, lis.Addr())
	if metricsSrv != nil {
		line += ", metrics on http://" + metricsSrv.addr() + "/metrics"
	}
	fmt.Fprintln(c.App.Writer, line)
	s.log.Info("serving", "node", node, "addr", lis.Addr().String(), "security", security, "config", s.cfg.String())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	wctx, stopWatch := context.WithCancel(c.Context)
	defer stopWatch()
	var serveErr error
	select {
	case <-c.Context.Done():
		s.log.Info("stopping: signal received")
	case <-watchConfig(wctx, s.cfg.Source, o.configCheck, ms.jobs.idle):
		s.log.Info("stopping: the configuration file changed and no backup or restore runs; restart to apply it", "config", s.cfg.Source)
	case serveErr = <-served:
	}
	stopServer(srv, hs, ms, rs)
	if serveErr != nil {
		return fmt.Errorf("gRPC server: %w", serveErr)
	}
	return nil
}

// newGRPCServer builds the gRPC server: the Medusa service, cassette's
// NodeRestore extension beside it (Medusa's service stays wire-identical;
// the operator never calls the extension) and the health service ("",
// "Medusa" and "cassette.v1.NodeRestore" SERVING), with g's message limits
// and tc's TLS (nil: plain text).
func newGRPCServer(ms *medusaServer, rs *nodeRestoreServer, g config.GRPC, tc *tls.Config) (*grpc.Server, *health.Server) {
	opts := []grpc.ServerOption{grpc.MaxSendMsgSize(g.SendLimit()), grpc.MaxRecvMsgSize(g.ReceiveLimit())}
	if tc != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tc)))
	}
	srv := grpc.NewServer(opts...)
	medusapb.RegisterMedusaServer(srv, ms)
	restorepb.RegisterNodeRestoreServer(srv, rs)
	hs := health.NewServer() // "" is SERVING from the start
	hs.SetServingStatus(medusapb.Medusa_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(restorepb.NodeRestore_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	return srv, hs
}

// stopServer reports NOT_SERVING, cancels the running backup and restore
// and waits for them to record that (a cancelled in-place restore puts the
// old tables back), lets calls in flight end, then stops; each wait is
// bounded by shutdownWait.
func stopServer(srv *grpc.Server, hs *health.Server, ms *medusaServer, rs *nodeRestoreServer) {
	hs.Shutdown()
	if err := ms.jobs.stop(shutdownWait); err != nil {
		ms.log.Warn("stopping anyway", "err", err)
	}
	if err := rs.jobs.stop(shutdownWait); err != nil {
		ms.log.Warn("stopping anyway", "err", err)
	}
	stopped := make(chan struct{})
	go func() {
		srv.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(shutdownWait):
		srv.Stop()
	}
}

// serverTLS builds the TLS configuration: none without tlsCert/tlsKey,
// server TLS with them, and mutual TLS (client certificates signed by
// caCert required) with caCert too. Certificates are read once: restart
// after rotating them.
func serverTLS(g config.GRPC) (*tls.Config, error) {
	if !g.TLS() {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(g.TLSCert, g.TLSKey)
	if err != nil {
		return nil, usagef("gRPC TLS certificate %s and key %s (grpc.tlsCert, grpc.tlsKey): %v; point them at this server's PEM certificate and its key", g.TLSCert, g.TLSKey, err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if g.CACert != "" {
		pem, err := os.ReadFile(g.CACert)
		if err != nil {
			return nil, usagef("gRPC CA certificate (grpc.caCert): %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usagef("gRPC CA certificate %s (grpc.caCert) holds no PEM certificate; point it at the CA that signs the clients' certificates", g.CACert)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// watchConfig returns a channel that is closed once the file at path
// changed (checked every interval) while idle() is true. It never fires
// with no file or a zero interval.
func watchConfig(ctx context.Context, path string, interval time.Duration, idle func() bool) <-chan struct{} {
	ch := make(chan struct{})
	if path == "" || interval <= 0 {
		return ch
	}
	digest := func() [32]byte {
		b, err := os.ReadFile(path)
		if err != nil {
			return [32]byte{}
		}
		return sha256.Sum256(b)
	}
	first := digest()
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if digest() != first && idle() {
					close(ch)
					return
				}
			}
		}
	}()
	return ch
}
