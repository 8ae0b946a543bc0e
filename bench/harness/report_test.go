package harness

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestWriteStep(t *testing.T) {
	s := Step{Title: "Full backup", About: "about text", Rows: []Row{
		{Tool: ToolCassette, Run: "c=4", NodeBytes: 100 << 20, ReadBytes: 100 << 20,
			Usage:  Usage{Wall: 2 * time.Second, User: 1500 * time.Millisecond, Sys: 500 * time.Millisecond, MaxRSS: 64 << 20},
			Counts: Counts{PutObject: 2, UploadPart: 12, CreateMPU: 3, CompleteMPU: 3, Get: 1, Head: 2, List: 3, Delete: 1, BytesUp: 100 << 20, BytesDown: 1 << 10}},
		{Tool: ToolBaseline, Run: "c=4", NodeBytes: 100 << 20, ReadBytes: -1,
			Usage:  Usage{Wall: 4 * time.Second, User: time.Second, Sys: time.Second, MaxRSS: 16 << 20},
			Counts: Counts{PutObject: 100, Head: 1, BytesUp: 100 << 20}},
		{Tool: ToolCassette, Run: "c=1", Failed: "stalled"},
		{Tool: "restic", Run: "all", Skipped: "restic not on PATH"},
	}}
	var buf bytes.Buffer
	WriteStep(&buf, s)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		"### Full backup",
		"",
		"about text",
		"",
		"| tool | run | wall s | MiB/s | objects | PUT | parts | MPU | GET | HEAD | LIST | DEL | requests | MiB up | MiB down | read MiB | peak RSS MiB | CPU s (user+sys) | MinIO CPU s |",
		"| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
		"| cassette | c=4 | 2.00 | 50.0 | 5 | 2 | 12 | 6 | 1 | 2 | 3 | 1 | 27 | 100 | 0.00 | 100 | 64 | 2.00 | 0.00 |",
		"| *cassette/baseline* |  | 0.50x | 2.00x | 0.05x |  |  |  |  |  |  |  | 0.27x | 1.00x | - |  | 4.00x | 1.00x | - |",
		"| baseline | c=4 | 4.00 | 25.0 | 100 | 100 | 0 | 0 | 0 | 1 | 0 | 0 | 101 | 100 | 0.00 | - | 16 | 2.00 | 0.00 |",
		"| cassette | c=1 | **FAILED**: stalled |  |  |  |  |  |  |  |  |  |  |  |  |  |  |  |  |",
		"| restic | all | skipped: restic not on PATH |  |  |  |  |  |  |  |  |  |  |  |  |  |  |  |  |",
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d\n got %s\nwant %s", i, lines[i], want[i])
		}
	}
	cols := strings.Count(want[4], "|")
	for i, l := range lines[4:] {
		if strings.Count(l, "|") != cols {
			t.Errorf("row %d has %d cells, header %d: %s", i, strings.Count(l, "|"), cols, l)
		}
	}
}

func TestWriteTargetsAndReport(t *testing.T) {
	r := Report{
		Command: "harness", Machine: Machine{CPUs: 2, CPUModel: "cpu", Memory: "1 GiB", GoVersion: "go1.26", Date: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC), LoadStart: "1, 2, 3", LoadEnd: "4, 5, 6", MinIO: "v1"},
		Datasets: []string{"ds"},
		Steps:    []Step{{Title: "Step one"}},
		Targets: []Target{
			{Issue: "3", What: "full", Want: ">= baseline", Got: "1.2x", Status: Met, By: "20% ahead"},
			{Issue: "7", What: "diff", Want: "< 10%", Got: "12%", Status: NotMet, By: "20% over"},
			{Issue: "7", What: "restic", Want: "2x", Got: "-", Status: NotMeasured},
		},
		Notes:    []string{"a note"},
		Duration: 90 * time.Second,
	}
	var buf bytes.Buffer
	r.WriteMarkdown(&buf)
	out := buf.String()
	for _, s := range []string{
		"on 2026-11-24 12:00 UTC in 1m30s",
		"- CPUs: 2 (cpu); memory: 1 GiB",
		"at start: 1, 2, 3; at end: 4, 5, 6",
		"| 3 | full | >= baseline | 1.2x | **met** | 20% ahead |",
		"| 7 | diff | < 10% | 12% | **NOT MET** | 20% over |",
		"| 7 | restic | 2x | - | not measured |  |",
		"### Step one",
		"- a note",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("report lacks %q:\n%s", s, out)
		}
	}
}

func TestAtLeastAtMost(t *testing.T) {
	if st, by := atLeast(120, 100); st != Met || by != "20% ahead" {
		t.Errorf("atLeast(120, 100) = %s, %s", st, by)
	}
	if st, by := atLeast(80, 100); st != NotMet || by != "20% short" {
		t.Errorf("atLeast(80, 100) = %s, %s", st, by)
	}
	if st, _ := atLeast(1, 0); st != NotMeasured {
		t.Errorf("atLeast(1, 0) = %s", st)
	}
	if st, by := atMost(0.5, 1); st != Met || by != "50% under" {
		t.Errorf("atMost(0.5, 1) = %s, %s", st, by)
	}
	if st, by := atMost(1.5, 1); st != NotMet || by != "50% over" {
		t.Errorf("atMost(1.5, 1) = %s, %s", st, by)
	}
}

func TestParseCassetteRead(t *testing.T) {
	out := "backup day2 node n1 (differential) complete in 1.2s\n  files 600, 512 MiB; read 48 files, 29 MiB (120 MiB/s)\n"
	if got := parseCassetteRead(out); got != 29<<20 {
		t.Errorf("parseCassetteRead = %d, want %d", got, 29<<20)
	}
	if got := parseCassetteRead("nothing"); got != -1 {
		t.Errorf("parseCassetteRead(nothing) = %d", got)
	}
}

func TestRepeatedRowShowsRange(t *testing.T) {
	r := Row{Tool: ToolCassette, Run: "c=4", NodeBytes: 100 << 20, ReadBytes: -1, Usage: Usage{Wall: 2 * time.Second},
		Walls: []time.Duration{1500 * time.Millisecond, 2 * time.Second, 3 * time.Second}}
	if got := rowCells(r)[2]; got != "2.00 (1.50-3.00)" {
		t.Fatalf("wall cell %q", got)
	}
}
