package main

import (
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// progress renders engine progress: a bar (bytes, throughput, ETA) on a
// terminal, a log line every interval otherwise. It is not logging: with
// --log-format json and no TTY it stays quiet except for the periodic lines.
type progress struct {
	verb     string
	mu       sync.Mutex
	p        *mpb.Progress
	bar      *mpb.Bar
	log      *slog.Logger
	files    atomic.Int64
	bytes    atomic.Int64
	skipped  atomic.Int64
	total    atomic.Int64
	start    time.Time
	stop     chan struct{}
	stopOnce sync.Once
}

const progressInterval = 10 * time.Second

// newProgress returns a renderer for verb ("backup", "restore"); w is where
// bars go (stderr).
func newProgress(verb string, w io.Writer, log *slog.Logger) *progress {
	pr := &progress{verb: verb, log: log, start: time.Now(), stop: make(chan struct{})}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		pr.p = mpb.New(mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond))
		return pr
	}
	go pr.ticker()
	return pr
}

func (pr *progress) Total(files, bytes int64) {
	pr.total.Store(bytes)
	if pr.p == nil {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.bar = pr.p.AddBar(bytes,
		mpb.PrependDecorators(decor.Name(pr.verb+" "), decor.CountersKibiByte("% .1f / % .1f")),
		mpb.AppendDecorators(decor.AverageSpeed(decor.SizeB1024(0), "% .1f"), decor.Name("  ETA "), decor.AverageETA(decor.ET_STYLE_MMSS)),
	)
}

func (pr *progress) File(_ string, bytes int64, fromCache bool) {
	pr.files.Add(1)
	pr.bytes.Add(bytes)
	if fromCache {
		pr.skipped.Add(1)
	}
	pr.mu.Lock()
	bar := pr.bar
	pr.mu.Unlock()
	if bar != nil {
		bar.IncrInt64(bytes)
	}
}

func (pr *progress) ticker() {
	t := time.NewTicker(progressInterval)
	defer t.Stop()
	for {
		select {
		case <-pr.stop:
			return
		case <-t.C:
			pr.log.Info(pr.verb+" progress", "files", pr.files.Load(), "bytes", pr.bytes.Load(), "total_bytes", pr.total.Load(),
				"unchanged_files", pr.skipped.Load(), "elapsed", time.Since(pr.start).Round(time.Second).String())
		}
	}
}

// done ends the rendering; the bar is completed or aborted.
func (pr *progress) done(ok bool) {
	pr.stopOnce.Do(func() {
		close(pr.stop)
		if pr.p == nil {
			return
		}
		pr.mu.Lock()
		if pr.bar != nil && !ok {
			pr.bar.Abort(false)
		} else if pr.bar != nil {
			pr.bar.SetTotal(-1, true)
		}
		pr.mu.Unlock()
		pr.p.Wait()
	})
}
