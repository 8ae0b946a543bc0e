package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// ArtifactsDir is where screenshots go, created if needed:
// $CASSETTE_ARTIFACTS, else .cache/artifacts/browser at the top of the
// repository (git-ignored), so a CI run can keep them and a developer finds
// them after `make test`.
func ArtifactsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("CASSETTE_ARTIFACTS")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			t.Fatalf("artifacts: %v (set CASSETTE_ARTIFACTS)", err)
		}
		dir = filepath.Join(root, ".cache", "artifacts", "browser")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts: %v", err)
	}
	return dir
}

// repoRoot is the nearest folder above the working directory (a test's
// package folder) that holds go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

// Screenshot saves a full-page PNG of ctx's tab (the whole document, not
// only the window) as name in ArtifactsDir, replacing an older one, and
// returns its path. Screenshots are for people looking at a run; tests do
// not compare them.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	if !strings.HasSuffix(name, ".png") {
		name += ".png"
	}
	wctx, cancel := deadlined(t, ctx)
	defer cancel()
	png, err := chromedp.Run(wctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot %s of %s: %v", name, location(ctx), err)
	}
	path := filepath.Join(ArtifactsDir(t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	return path
}
