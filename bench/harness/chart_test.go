package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func chartReport() Report {
	row := func(tool, run string, wall time.Duration) Row {
		return Row{Tool: tool, Run: run, NodeBytes: 512 << 20, Usage: Usage{Wall: wall}}
	}
	return Report{Machine: Machine{CPUs: 2, Date: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}, Steps: []Step{
		{Title: "backup", Chart: map[string]ChartRef{"c=1": {Group: "first backup, c=1"}, "c=4": {Group: "first backup, c=4"}},
			Rows: []Row{row(ToolCassette, "c=1", 2*time.Second), row(ToolBaseline, "c=1", 3*time.Second),
				row(ToolCassette, "c=4", time.Second), row(ToolBaseline, "c=4", 2*time.Second), {Tool: ToolCassette, Run: "c=8", Failed: "stalled"}}},
		{Title: "peers", Chart: map[string]ChartRef{"first backup": {Group: "first backup, c=4"}, "unchanged": {Group: "unchanged", Time: true}},
			Rows: []Row{row(ToolCassette, "first backup", 5*time.Second), row("restic", "first backup", 4*time.Second),
				row(ToolCassette, "unchanged", 100*time.Millisecond), row("restic", "unchanged", 900*time.Millisecond),
				{Tool: "kopia", Run: "all", Skipped: "kopia not on PATH"}}},
	}}
}

func TestBars(t *testing.T) {
	got := chartReport().Bars()
	want := []Bar{
		{Group: "first backup, c=1", Tool: ToolCassette, Value: 256},
		{Group: "first backup, c=1", Tool: ToolBaseline, Value: 512.0 / 3},
		{Group: "first backup, c=4", Tool: ToolCassette, Value: 512},
		{Group: "first backup, c=4", Tool: ToolBaseline, Value: 256},
		// cassette's peers row repeats c=4: the first one wins.
		{Group: "first backup, c=4", Tool: "restic", Value: 128},
		{Group: "unchanged", Tool: ToolCassette, Value: 0.1, Time: true},
		{Group: "unchanged", Tool: "restic", Value: 0.9, Time: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d bars %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Group != w.Group || g.Tool != w.Tool || g.Time != w.Time || g.Value < w.Value*0.999 || g.Value > w.Value*1.001 {
			t.Errorf("bar %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestWriteChart(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"results.svg", "results.png"} {
		p := filepath.Join(dir, name)
		if err := chartReport().WriteChart(p); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 1000 {
			t.Errorf("%s: only %d bytes", name, len(b))
		}
		if strings.HasSuffix(name, ".svg") && (!strings.Contains(string(b), "<svg") || !strings.Contains(string(b), "restic")) {
			t.Errorf("%s: not an SVG naming the tools", name)
		}
	}
	if err := (Report{}).WriteChart(filepath.Join(dir, "empty.svg")); err == nil {
		t.Error("a report without runs drew a chart")
	}
	if err := chartReport().WriteChart(filepath.Join(dir, "x.pdf")); err == nil {
		t.Error("wrote an unsupported format")
	}
}
