// Package browsertest starts headless Chromium for tests of cassette's web
// console and gives them the few things such tests need: waiting for a
// selector without hanging, keyboard input, phone and desktop viewports, a
// check for horizontal overflow and full-page screenshots kept as artifacts.
//
// The browser is Debian's chromium (scripts/install-chromium.sh, run by
// `make test`) or $CASSETTE_CHROMIUM. When it cannot start, Start skips the
// test, except under CI or CASSETTE_REQUIRE_SERVERS=1, where a browser test
// that does not run is a failure.
package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// DefaultChromium is where Debian's chromium package puts its launcher.
const DefaultChromium = "/usr/bin/chromium"

// startTimeout bounds Chromium's start, so that a browser that never answers
// fails the test with its output instead of hanging it until -timeout.
const startTimeout = 90 * time.Second

// ExecPath returns the browser Start runs: $CASSETTE_CHROMIUM, else
// DefaultChromium.
func ExecPath() string {
	if p := os.Getenv("CASSETTE_CHROMIUM"); p != "" {
		return p
	}
	return DefaultChromium
}

// Required reports whether a browser that cannot start fails the test rather
// than skipping it: under CI, and under CASSETTE_REQUIRE_SERVERS=1, which
// `make test` sets.
func Required() bool {
	return os.Getenv("CI") != "" || os.Getenv("CASSETTE_REQUIRE_SERVERS") == "1"
}

// unavailable fails the test when a browser is required, else skips it; both
// say why and what to do.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...) + " (install it: bash scripts/install-chromium.sh, or set CASSETTE_CHROMIUM=/path/to/chromium)"
	if Required() {
		t.Fatalf("browser required (CI or CASSETTE_REQUIRE_SERVERS=1) but unavailable: %s", msg)
	}
	t.Skipf("no browser: %s", msg)
}

// allocatorOptions are chromedp's defaults plus the flags this machine's
// closed network needs: without the background-networking, component-update,
// sync and QUIC flags Chromium keeps trying to reach Google's hosts and its
// connections are refused. chromedp gives each browser a new empty temporary
// --user-data-dir, and removes it, killing any leftover child process that
// still uses it, when the allocator's context ends.
func allocatorOptions(execPath string, output *lockedBuffer) []chromedp.ExecAllocatorOption {
	return append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.CombinedOutput(output),
	)
}

// Start launches headless Chromium and returns the context of its first tab,
// at the Desktop viewport. The browser and every process it started end in
// t.Cleanup. Run actions with chromedp.Run or chromedp.Do on the returned
// context, or with this package's helpers.
func Start(t testing.TB) context.Context {
	t.Helper()
	execPath := ExecPath()
	if fi, err := os.Stat(execPath); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		unavailable(t, "no executable Chromium at %s", execPath)
	}
	output := &lockedBuffer{}
	// Not the test's context: the browser must outlive nothing but this
	// test, and end in the cleanup below, after the test's own cleanups
	// that may still use it (LIFO).
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocatorOptions(execPath, output)...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	stop := func() {
		cancelTab()
		cancelAlloc() // waits for the browser's exit and its user-data dir's removal
	}

	// The first Run starts the browser and binds it to ctx, so it must run
	// without a deadline; the timer below only keeps a hung start from
	// hanging the test.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	var err error
	select {
	case err = <-started:
	case <-time.After(startTimeout):
		stop()
		<-started
		err = fmt.Errorf("no answer after %s", startTimeout)
	}
	if err != nil {
		stop()
		unavailable(t, "Chromium %s did not start: %v\n%s", execPath, err, output.tail(2000))
	}
	t.Cleanup(stop)
	SetViewport(t, ctx, Desktop)
	return ctx
}

// waitTimeout is the longest WaitFor waits: generous, because it only keeps
// a broken page from hanging the test; a test never asserts on how long
// something took.
const waitTimeout = 3 * time.Minute

// deadlined returns ctx bounded by waitTimeout and, when the test binary
// has a -timeout, by a little less than what is left of it, so that a wait
// that never ends reports which selector it waited for instead of the test
// binary's panic.
func deadlined(t testing.TB, ctx context.Context) (context.Context, context.CancelFunc) {
	d := time.Now().Add(waitTimeout)
	if td, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if end, ok := td.Deadline(); ok && end.Add(-15*time.Second).Before(d) {
			d = end.Add(-15 * time.Second)
		}
	}
	return context.WithDeadline(ctx, d)
}

// WaitFor waits until an element matches the CSS selector sel, and fails
// the test with the page's URL when none does before the deadline.
func WaitFor(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	if err := waitFor(t, ctx, sel); err != nil {
		t.Fatalf("waiting for %s on %s: %v", sel, location(ctx), err)
	}
}

func waitFor(t testing.TB, ctx context.Context, sel string) error {
	wctx, cancel := deadlined(t, ctx)
	defer cancel()
	// A slower poll than chromedp's 5 ms: waits here can last a backup's
	// whole run, under the race detector.
	err := chromedp.Do(wctx, chromedp.WaitReady(chromedp.CSS(sel), chromedp.RetryInterval(50*time.Millisecond)))
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no element matched before the test's deadline")
	}
	return err
}

// Navigate loads url and waits for its document.
func Navigate(t testing.TB, ctx context.Context, url string) {
	t.Helper()
	wctx, cancel := deadlined(t, ctx)
	defer cancel()
	if err := chromedp.Do(wctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigate to %s: %v", url, err)
	}
}

// Click clicks, with the mouse, the first element that matches the CSS
// selector sel, once it exists.
func Click(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	wctx, cancel := deadlined(t, ctx)
	defer cancel()
	if err := chromedp.Do(wctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible, chromedp.RetryInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("click %s on %s: %v", sel, location(ctx), err)
	}
}

// Eval evaluates a JavaScript expression in the page and returns its value
// decoded into T.
func Eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s on %s: %v", expr, location(ctx), err)
	}
	return v
}

// location is the page's URL, for messages.
func location(ctx context.Context) string {
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	u, err := chromedp.Run(lctx, chromedp.Location())
	if err != nil {
		return "(unknown page: " + err.Error() + ")"
	}
	return u
}

// lockedBuffer collects Chromium's output, which its own goroutine writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// tail is the end of the output, which holds why a start failed.
func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}

// WaitGone waits until no element matches the CSS selector sel.
func WaitGone(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	wctx, cancel := deadlined(t, ctx)
	defer cancel()
	if err := chromedp.Do(wctx, chromedp.WaitNotPresent(chromedp.CSS(sel), chromedp.RetryInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("waiting for %s to go from %s: %v", sel, location(ctx), err)
	}
}

// Count is how many elements match the CSS selector sel now.
func Count(t testing.TB, ctx context.Context, sel string) int {
	t.Helper()
	return Eval[int](t, ctx, "document.querySelectorAll("+strconv.Quote(sel)+").length")
}

// Loads runs action, which must make ctx's tab load a new document (follow
// a link, submit a form and its redirect), and waits until the new document
// has loaded. It keeps a test from acting on the old page while the
// browser is still leaving it.
func Loads(t testing.TB, ctx context.Context, action func()) {
	t.Helper()
	// A mark on the old document's window, which the new document lacks.
	Eval[bool](t, ctx, "window.browsertestOldPage = true")
	action()
	wctx, cancel := deadlined(t, ctx)
	defer cancel()
	for {
		// Errors are expected while the old document goes away.
		loaded, err := chromedp.Run(wctx, chromedp.Evaluate[bool](`!window.browsertestOldPage && document.readyState === "complete"`))
		if err == nil && loaded {
			return
		}
		select {
		case <-wctx.Done():
			t.Fatalf("no new page loaded; still on %s", location(ctx))
		case <-time.After(50 * time.Millisecond):
		}
	}
}
