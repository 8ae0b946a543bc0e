package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cassette-backup/cassette/providers/providertest"
)

// peers runs restic and kopia on the incompressible dataset when they are
// on PATH (never required): first backup, unchanged backup, restore, next
// to cassette's runs of the same steps at the default concurrency.
func (b *bench) peers(ctx context.Context) error {
	if !b.cfg.Peers {
		return nil
	}
	c := b.cfg.Default
	dir, err := b.tpData(ctx)
	if err != nil {
		return err
	}
	s := Step{Title: "Peers (restic, kopia when on PATH), incompressible data",
		About: fmt.Sprintf("Same data, same MinIO behind the same proxy, %d connections. cassette's first backup and restore rows repeat the c=%d runs above; its unchanged backup runs here.", c, c),
		Chart: map[string]ChartRef{"first backup": {Group: fmt.Sprintf("first backup, incompressible, c=%d", c)},
			"restore":   {Group: fmt.Sprintf("restore, incompressible, c=%d", c)},
			"unchanged": {Group: "unchanged node, incompressible", Time: true}}}
	var peerRows []Row
	var versions []string
	for _, p := range []struct {
		name string
		run  func(context.Context, string, string, int) ([]Row, error)
	}{{"restic", b.restic}, {"kopia", b.kopia}} {
		bin, why := b.findPeer(ctx, p.name)
		if bin == "" {
			b.logf("skipped %s: %s", p.name, why)
			peerRows = append(peerRows, Row{Tool: p.name, Run: "all", Skipped: why})
			continue
		}
		versions = append(versions, peerVersion(ctx, bin))
		rows, err := p.run(ctx, bin, dir, c)
		if err != nil {
			// A peer failing is a note, not a failed bench.
			b.logf("%s failed: %v", p.name, err)
			peerRows = append(peerRows, Row{Tool: p.name, Run: "all", Skipped: fmt.Sprintf("%s failed: %s", p.name, oneLine(err.Error(), 200))})
			continue
		}
		peerRows = append(peerRows, rows...)
		if p.name == "restic" && len(rows) > 0 {
			b.t.restic = rows[0]
		}
	}
	if full, ok := b.t.fullTP[c]; ok {
		full.Run = "first backup"
		s.Rows = append(s.Rows, full)
		un, err := b.cassette(ctx, "unchanged", b.repo(fmt.Sprintf("tp-c%d-cassette", c), c), dir, "n1", b.cache(fmt.Sprintf("tp-c%d", c)), b.t.tpBytes, "backup", "--name", "unchanged")
		if err != nil {
			return err
		}
		s.Rows = append(s.Rows, un)
	}
	if r, ok := b.t.restoreTP[c]; ok {
		r.Run = "restore"
		s.Rows = append(s.Rows, r)
	}
	s.Rows = append(s.Rows, peerRows...)
	if len(versions) > 0 {
		s.About += " Versions: " + strings.Join(versions, "; ") + "."
	}
	b.t.peerRows = peerRows
	b.rep.Steps = append(b.rep.Steps, s)
	return nil
}

// Peers -install-peers builds, at versions the Go module proxy serves.
var peerModules = map[string]struct{ module, pkg string }{
	"restic": {"github.com/restic/restic@v0.18.1", "github.com/restic/restic/cmd/restic"},
	"kopia":  {"github.com/kopia/kopia@v0.21.1", "github.com/kopia/kopia"},
}

// peersDir is where -install-peers puts the peers' binaries.
func (b *bench) peersDir() string {
	if b.cfg.PeersDir != "" {
		return b.cfg.PeersDir
	}
	root, err := providertest.RepoRoot()
	if err != nil {
		root = "."
	}
	return filepath.Join(root, ".cache", "peers", "bin")
}

// findPeer returns the peer's binary: on PATH, else in the peers folder,
// else built there with -install-peers. Without one it says why.
func (b *bench) findPeer(ctx context.Context, name string) (string, string) {
	if bin, err := exec.LookPath(name); err == nil {
		return bin, ""
	}
	bin := filepath.Join(b.peersDir(), name)
	if _, err := os.Stat(bin); err == nil {
		return bin, ""
	}
	if !b.cfg.InstallPeers {
		return "", fmt.Sprintf("%s not on PATH nor in %s (-install-peers builds it there: make bench BENCHFLAGS=-install-peers)", name, b.peersDir())
	}
	if err := b.installPeer(ctx, name, bin); err != nil {
		return "", fmt.Sprintf("%s: go build failed: %s", name, oneLine(err.Error(), 200))
	}
	return bin, ""
}

// installPeer builds a peer with the go command from a throw-away module
// that requires it (go install pkg@version would also do, but it asks the
// proxy for the module's version list, which is not always served), with
// the versions of the peer's own go.mod.
func (b *bench) installPeer(ctx context.Context, name, bin string) error {
	m := peerModules[name]
	tmp, err := os.MkdirTemp("", "cassette-peer-"+name+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	mod, ver, _ := strings.Cut(m.module, "@")
	gomod := fmt.Sprintf("module peerbuild\n\ngo 1.24\n\nrequire %s %s\n", mod, ver)
	if err := os.WriteFile(filepath.Join(tmp, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	b.logf("building %s (%s) into %s; this takes a few minutes once", name, m.module, filepath.Dir(bin))
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, m.pkg)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w\n%s", err, tail(string(out), 2000))
	}
	return nil
}

// peerVersion is "name version", from `bin version` (restic: "restic
// 0.18.1 compiled with ...") or `bin --version` (kopia: "0.21.1 build: ...").
func peerVersion(ctx context.Context, bin string) string {
	name := filepath.Base(bin)
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.CommandContext(ctx, bin, args...).Output()
		f := strings.Fields(string(out))
		if err != nil || len(f) == 0 {
			continue
		}
		if f[0] == name && len(f) > 1 {
			f = f[1:]
		}
		return name + " " + f[0]
	}
	return name
}

func oneLine(s string, n int) string {
	out := []rune{}
	for _, r := range s {
		if r == '\n' || r == '|' {
			r = ' '
		}
		out = append(out, r)
	}
	if len(out) > n {
		out = append(out[:n], '.', '.', '.')
	}
	return string(out)
}

const peerPassword = "cassette-bench-peer-password"

func (b *bench) restic(ctx context.Context, bin, dir string, c int) ([]Row, error) {
	env := []string{
		"RESTIC_REPOSITORY=s3:http://" + b.proxy.Addr() + "/bench/restic",
		"RESTIC_PASSWORD=" + peerPassword,
		"AWS_ACCESS_KEY_ID=" + minioUser, "AWS_SECRET_ACCESS_KEY=" + minioSecret,
		"RESTIC_CACHE_DIR=" + b.cache("restic"),
	}
	conn := "s3.connections=" + strconv.Itoa(c)
	if out, err := b.plain(ctx, env, bin, "init"); err != nil {
		return nil, fmt.Errorf("restic init: %w\n%s", err, out)
	}
	var rows []Row
	for _, run := range []string{"first backup", "unchanged"} {
		r, _ := b.measure(ctx, "restic", run, b.t.tpBytes, true, env, []string{bin, "backup", "--host", "n1", "-o", conn, "--exclude", "snapshots", "--exclude", "backups", dir})
		rows = append(rows, r)
	}
	dst := filepath.Join(b.work, "restore", "restic")
	r, err := b.restoreAndCompareAt(dir, dst, filepath.Join(dst, dir), func() (Row, error) {
		r, _ := b.measure(ctx, "restic", "restore", b.t.tpBytes, true, env, []string{bin, "restore", "latest", "-o", conn, "--target", dst})
		return r, nil
	})
	return append(rows, r), err
}

// kopia is written from kopia's documented CLI; it has not run on this
// machine (no kopia package here).
func (b *bench) kopia(ctx context.Context, bin, dir string, c int) ([]Row, error) {
	cfgFile := filepath.Join(b.work, "kopia", "repository.config")
	env := []string{"KOPIA_PASSWORD=" + peerPassword, "KOPIA_CHECK_FOR_UPDATES=false"}
	common := []string{"--config-file", cfgFile}
	args := append([]string{"repository", "create", "s3", "--bucket", "bench", "--prefix", "kopia/", "--endpoint", b.proxy.Addr(),
		"--disable-tls", "--access-key", minioUser, "--secret-access-key", minioSecret, "--cache-directory", b.cache("kopia")}, common...)
	if out, err := b.plain(ctx, env, bin, args...); err != nil {
		return nil, fmt.Errorf("kopia repository create: %w\n%s", err, out)
	}
	var rows []Row
	for _, run := range []string{"first backup", "unchanged"} {
		r, _ := b.measure(ctx, "kopia", run, b.t.tpBytes, true, env, append([]string{bin, "snapshot", "create", dir, "--parallel", strconv.Itoa(c)}, common...))
		rows = append(rows, r)
	}
	out, err := b.plain(ctx, env, bin, append([]string{"snapshot", "list", dir, "--json"}, common...)...)
	if err != nil {
		return rows, fmt.Errorf("kopia snapshot list: %w\n%s", err, out)
	}
	var snaps []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &snaps); err != nil || len(snaps) == 0 {
		return rows, fmt.Errorf("kopia snapshot list: no snapshot in %q", oneLine(out, 200))
	}
	dst := filepath.Join(b.work, "restore", "kopia")
	r, err := b.restoreAndCompareAt(dir, dst, dst, func() (Row, error) {
		r, _ := b.measure(ctx, "kopia", "restore", b.t.tpBytes, true, env,
			append([]string{bin, "snapshot", "restore", snaps[len(snaps)-1].ID, dst, "--parallel", strconv.Itoa(c)}, common...))
		return r, nil
	})
	return append(rows, r), err
}

// plain runs a setup command (not measured) and returns its output.
func (b *bench) plain(ctx context.Context, env []string, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	return string(out), err
}
