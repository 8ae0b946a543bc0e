package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// peers runs restic and kopia on the incompressible dataset when they are
// on PATH (never required): first backup, unchanged backup, restore, next
// to cassette's runs of the same steps at the default concurrency.
func (b *bench) peers(ctx context.Context) error {
	if !b.cfg.Peers {
		return nil
	}
	c := b.cfg.Default
	dir := filepath.Join(b.work, "tp", "n1")
	s := Step{Title: "Peers (restic, kopia when on PATH), incompressible data",
		About: fmt.Sprintf("Same data, same MinIO behind the same proxy, %d connections. cassette's first backup and restore rows repeat the c=%d runs above; its unchanged backup runs here.", c, c)}
	var peerRows []Row
	for _, p := range []struct {
		name string
		run  func(context.Context, string, string, int) ([]Row, error)
	}{{"restic", b.restic}, {"kopia", b.kopia}} {
		bin, err := exec.LookPath(p.name)
		if err != nil {
			b.logf("skipped: %s not on PATH", p.name)
			peerRows = append(peerRows, Row{Tool: p.name, Run: "all", Skipped: p.name + " not on PATH"})
			continue
		}
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
	b.rep.Steps = append(b.rep.Steps, s)
	return nil
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
