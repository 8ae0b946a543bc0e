package purgebench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cassette-backup/cassette/bench/harness"
)

// Memory is the peak resident memory of a process split by kind, sampled
// from /proc/<pid>/status every 20 ms: anonymous memory is the Go heap and
// stacks; file-backed is mostly the mmapped bbolt files (index cache, GC
// mark sets), which the kernel can drop under pressure.
type Memory struct {
	PeakAnon int64 `json:"peakAnon"` // bytes
	PeakFile int64 `json:"peakFile"` // bytes
}

// MeasureMain is the launcher of the runs (harness.Runner calls it as the
// measure subcommand): it runs argv, writes its harness.Usage as JSON to
// out and its Memory to out+".mem".
func MeasureMain(out string, argv []string) int {
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "measure: no command")
		return 2
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "measure:", err)
		return 1
	}
	done := make(chan struct{})
	memc := make(chan Memory, 1)
	go func() {
		var m Memory
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if a, f, ok := procMemory(cmd.Process.Pid); ok {
				m.PeakAnon, m.PeakFile = max(m.PeakAnon, a), max(m.PeakFile, f)
			}
			select {
			case <-done:
				memc <- m
				return
			case <-t.C:
			}
		}
	}()
	_ = cmd.Wait()
	close(done)
	u := harness.Usage{Wall: time.Since(start), ExitCode: cmd.ProcessState.ExitCode()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		u.User, u.Sys = time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
		u.MaxRSS = ru.Maxrss << 10 // KiB on Linux
	}
	for path, v := range map[string]any{out: u, out + ".mem": <-memc} {
		b, _ := json.Marshal(v)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "measure:", err)
			return 1
		}
	}
	return 0
}

// procMemory reads RssAnon and RssFile (bytes) of pid.
func procMemory(pid int) (anon, file int64, ok bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, found := strings.Cut(sc.Text(), ":")
		if !found || (k != "RssAnon" && k != "RssFile") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		if k == "RssAnon" {
			anon = n << 10
		} else {
			file = n << 10
		}
		ok = true
	}
	return anon, file, ok
}

// readMemory finds the Memory the launcher wrote for the run named name
// in logDir (harness.Runner names its files <seq>-<name>.log.usage.json).
func readMemory(logDir, name string) *Memory {
	paths, _ := filepath.Glob(filepath.Join(logDir, "*-"+name+".log.usage.json.mem"))
	if len(paths) == 0 {
		return nil
	}
	b, err := os.ReadFile(paths[len(paths)-1])
	if err != nil {
		return nil
	}
	var m Memory
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return &m
}
