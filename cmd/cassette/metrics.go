package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cassette-backup/cassette/engine"
)

// metrics are the Prometheus metrics of `cassette serve`, on their own
// registry (never the global one) and their own HTTP port.
type metrics struct {
	reg *prometheus.Registry

	backupsStarted, backupsSucceeded, backupsFailed prometheus.Counter
	bytesRead, bytesUploaded, bytesDeduplicated     prometheus.Counter
	backupDuration                                  prometheus.Histogram
	lastSuccess                                     prometheus.Gauge

	purgesSucceeded, purgesFailed            prometheus.Counter
	purgedBackups, purgedObjects, bytesFreed prometheus.Counter
	objectsInGrace                           prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "cassette", Name: name, Help: help})
		m.reg.MustRegister(c)
		return c
	}
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "cassette", Name: name, Help: help})
		m.reg.MustRegister(g)
		return g
	}
	m.backupsStarted = counter("backups_started_total", "Node backups started by this server.")
	m.backupsSucceeded = counter("backups_succeeded_total", "Node backups that completed (manifest written).")
	m.backupsFailed = counter("backups_failed_total", "Node backups that failed or were cancelled.")
	m.bytesRead = counter("backup_read_bytes_total", "Bytes of SSTables read by backups (files unchanged since the last backup are not read).")
	m.bytesUploaded = counter("backup_uploaded_bytes_total", "Bytes written to storage by completed backups (packs, after compression).")
	m.bytesDeduplicated = counter("backup_deduplicated_bytes_total", "Bytes of completed backups that were already stored and cost nothing.")
	m.backupDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "cassette", Name: "backup_duration_seconds",
		Help: "Duration of completed node backups.", Buckets: prometheus.ExponentialBuckets(1, 2, 18)})
	m.reg.MustRegister(m.backupDuration)
	m.lastSuccess = gauge("last_successful_backup_timestamp_seconds", "When the last successful backup of this node finished (unix seconds; 0: none since start).")
	m.purgesSucceeded = counter("purges_succeeded_total", "PurgeBackups calls that completed.")
	m.purgesFailed = counter("purges_failed_total", "PurgeBackups calls that failed.")
	m.purgedBackups = counter("purge_backups_deleted_total", "Node backups deleted by purges.")
	m.purgedObjects = counter("purge_objects_deleted_total", "Objects deleted by purges and their garbage collection.")
	m.bytesFreed = counter("purge_bytes_freed_total", "Bytes freed in storage by purges.")
	m.objectsInGrace = gauge("purge_objects_within_grace", "Objects the last purge kept only because they are within the grace period.")
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// backupStarted counts a backup the server starts.
func (m *metrics) backupStarted() { m.backupsStarted.Inc() }

// backupEnded records how a backup ended.
func (m *metrics) backupEnded(res *engine.BackupResult, err error) {
	if err != nil {
		m.backupsFailed.Inc()
		return
	}
	m.backupsSucceeded.Inc()
	sm := res.Header.Summary
	m.bytesUploaded.Add(float64(max(0, sm.StoredBytes)))
	m.bytesDeduplicated.Add(float64(max(0, sm.Bytes-sm.NewBytes)))
	m.backupDuration.Observe(res.Duration.Seconds())
	m.lastSuccess.Set(float64(res.Header.Finished.Unix()))
}

// purgeEnded records a purge.
func (m *metrics) purgeEnded(res *engine.PurgeResult, err error) {
	if err != nil {
		m.purgesFailed.Inc()
	} else {
		m.purgesSucceeded.Inc()
	}
	if res == nil {
		return
	}
	m.purgedBackups.Add(float64(res.BackupsPurged))
	m.purgedObjects.Add(float64(res.ObjectsPurged))
	m.bytesFreed.Add(float64(res.BytesFreed))
	m.objectsInGrace.Set(float64(res.ObjectsInGrace))
}

// progress counts bytes read as the backup reads them, and passes every
// call on to next (may be nil).
func (m *metrics) progress(next engine.Progress) engine.Progress {
	return &metricsProgress{m: m, next: next}
}

type metricsProgress struct {
	m    *metrics
	next engine.Progress
}

func (p *metricsProgress) Total(files, bytes int64) {
	if p.next != nil {
		p.next.Total(files, bytes)
	}
}

func (p *metricsProgress) File(path string, bytes int64, fromCache bool) {
	if !fromCache {
		p.m.bytesRead.Add(float64(bytes))
	}
	if p.next != nil {
		p.next.File(path, bytes, fromCache)
	}
}

// metricsServer serves /metrics on its own listener.
type metricsServer struct {
	srv *http.Server
	lis net.Listener
}

// startMetrics listens on addr and serves m's registry at /metrics.
func startMetrics(m *metrics, addr string, log *slog.Logger) (*metricsServer, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, usagef("--metrics-addr %s: %v (choose a free port, or \"\" to turn metrics off)", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "cassette: metrics at /metrics")
	})
	ms := &metricsServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, lis: lis}
	go func() {
		if err := ms.srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	return ms, nil
}

func (ms *metricsServer) addr() string { return ms.lis.Addr().String() }

func (ms *metricsServer) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = ms.srv.Shutdown(ctx)
}
