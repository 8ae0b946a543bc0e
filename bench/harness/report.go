package harness

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Tools as they appear in the tables.
const (
	ToolCassette = "cassette"
	ToolBaseline = "baseline"
)

// Row is one measured run of one tool.
type Row struct {
	Tool      string
	Run       string // what distinguishes runs of a step, e.g. "c=4"
	NodeBytes int64  // node data the step covers: the MiB/s numerator
	Usage     Usage
	Counts    Counts
	ReadBytes int64 // bytes the tool read from the data files; -1 unknown
	ServerCPU time.Duration
	Written   []string // paths of the objects written (/bucket/key), not rendered
	Skipped   string   // why the run did not happen; the rest is empty then
	Failed    string   // why the run failed (timed out, stalled, wrong bytes)
	// Walls are the wall times of every repetition when the run was
	// repeated (the row is the median one), fastest first; the table shows
	// their range after the median.
	Walls []time.Duration
}

// OK reports whether the run happened and succeeded.
func (r Row) OK() bool { return r.Skipped == "" && r.Failed == "" && r.Usage.Wall > 0 }

// MiBps is node data per second of wall time.
func (r Row) MiBps() float64 {
	if r.Usage.Wall <= 0 {
		return 0
	}
	return float64(r.NodeBytes) / (1 << 20) / r.Usage.Wall.Seconds()
}

// Step is one table: the runs of every tool on one step.
type Step struct {
	Title string
	About string
	Rows  []Row
	// Chart puts the runs with these run labels on the chart.
	Chart map[string]ChartRef
}

// Find returns the first row of tool with run label run.
func (s Step) Find(tool, run string) (Row, bool) {
	for _, r := range s.Rows {
		if r.Tool == tool && r.Run == run && r.OK() {
			return r, true
		}
	}
	return Row{}, false
}

// Target is one goal of an issue and how the run did against it.
type Target struct {
	Issue  string
	What   string
	Want   string
	Got    string
	Status string // met, not met, not measured
	By     string // how far from the target, when not met (or the margin when met)
}

// Target statuses.
const (
	Met         = "met"
	NotMet      = "not met"
	NotMeasured = "not measured"
)

// Machine describes where the run happened.
type Machine struct {
	CPUs      int
	CPUModel  string
	Memory    string
	GoVersion string
	Date      time.Time
	LoadStart string
	LoadEnd   string
	MinIO     string
}

// Report is everything RESULTS.md shows.
type Report struct {
	Command  string
	Machine  Machine
	Datasets []string
	Steps    []Step
	Targets  []Target
	Notes    []string
	Duration time.Duration
	// Chart is the chart's path relative to the markdown file ("" none).
	Chart string
}

var columns = []string{"tool", "run", "wall s", "MiB/s", "objects", "PUT", "parts", "MPU", "GET", "HEAD", "LIST", "DEL", "requests", "MiB up", "MiB down", "read MiB", "peak RSS MiB", "CPU s (user+sys)", "MinIO CPU s"}

// WriteStep renders one step as a markdown table, with a ratio row
// (cassette/other tool) under each cassette run for every other tool's run
// of the same label.
func WriteStep(w io.Writer, s Step) {
	fmt.Fprintf(w, "### %s\n\n", s.Title)
	if s.About != "" {
		fmt.Fprintf(w, "%s\n\n", s.About)
	}
	fmt.Fprintf(w, "| %s |\n|", strings.Join(columns, " | "))
	for i := range columns {
		if i < 2 {
			fmt.Fprint(w, " --- |")
		} else {
			fmt.Fprint(w, " ---: |")
		}
	}
	fmt.Fprintln(w)
	for _, r := range s.Rows {
		if r.Skipped != "" || r.Failed != "" {
			cells := make([]string, len(columns))
			cells[0], cells[1], cells[2] = r.Tool, r.Run, "skipped: "+r.Skipped
			if r.Failed != "" {
				cells[2] = "**FAILED**: " + r.Failed
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
			continue
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(rowCells(r), " | "))
		if r.Tool != ToolCassette {
			continue
		}
		for _, o := range s.Rows {
			if o.Tool != ToolCassette && o.Run == r.Run && o.OK() {
				fmt.Fprintf(w, "| %s |\n", strings.Join(ratioCells(r, o), " | "))
			}
		}
	}
	fmt.Fprintln(w)
}

func rowCells(r Row) []string {
	c := r.Counts
	read := "-"
	if r.ReadBytes >= 0 {
		read = mib(r.ReadBytes)
	}
	wall := secs(r.Usage.Wall)
	if n := len(r.Walls); n > 1 {
		wall += fmt.Sprintf(" (%s-%s)", secs(r.Walls[0]), secs(r.Walls[n-1]))
	}
	return []string{
		r.Tool, r.Run, wall, fmt.Sprintf("%.1f", r.MiBps()),
		itoa(c.Objects()), itoa(c.PutObject), itoa(c.UploadPart), itoa(c.CreateMPU + c.CompleteMPU),
		itoa(c.Get), itoa(c.Head), itoa(c.List), itoa(c.Delete), itoa(c.Requests()),
		mib(c.BytesUp), mib(c.BytesDown), read, fmt.Sprintf("%.0f", float64(r.Usage.MaxRSS)/(1<<20)),
		secs(r.Usage.CPU()), secs(r.ServerCPU),
	}
}

// ratioCells compares a with b: times and sizes as a/b (lower is better
// for cassette), throughput as a/b (higher is better).
func ratioCells(a, b Row) []string {
	ca, cb := a.Counts, b.Counts
	return []string{
		"*" + a.Tool + "/" + b.Tool + "*", "", ratio(a.Usage.Wall.Seconds(), b.Usage.Wall.Seconds()), ratio(a.MiBps(), b.MiBps()),
		ratio(float64(ca.Objects()), float64(cb.Objects())), "", "", "", "", "", "", "",
		ratio(float64(ca.Requests()), float64(cb.Requests())), ratio(float64(ca.BytesUp), float64(cb.BytesUp)),
		ratio(float64(ca.BytesDown), float64(cb.BytesDown)), "", ratio(float64(a.Usage.MaxRSS), float64(b.Usage.MaxRSS)),
		ratio(a.Usage.CPU().Seconds(), b.Usage.CPU().Seconds()), ratio(a.ServerCPU.Seconds(), b.ServerCPU.Seconds()),
	}
}

func ratio(a, b float64) string {
	if b == 0 || math.IsNaN(a/b) {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()) }
func itoa(n int64) string         { return fmt.Sprint(n) }
func mib(n int64) string {
	v := float64(n) / (1 << 20)
	if v < 10 {
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// WriteTargets renders the targets table.
func WriteTargets(w io.Writer, ts []Target) {
	fmt.Fprintln(w, "| issue | target | wanted | measured | status | by how much |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
	for _, t := range ts {
		status := t.Status
		switch t.Status {
		case Met:
			status = "**met**"
		case NotMet:
			status = "**NOT MET**"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", t.Issue, t.What, t.Want, t.Got, status, t.By)
	}
	fmt.Fprintln(w)
}

// WriteMarkdown renders the whole report.
func (r Report) WriteMarkdown(w io.Writer) {
	m := r.Machine
	fmt.Fprintln(w, "# cassette bench results")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Generated by `%s` (bench/cmd/harness) on %s in %s; every number below comes from\n", r.Command, m.Date.UTC().Format("2006-01-02 15:04 MST"), r.Duration.Round(time.Second))
	fmt.Fprintln(w, "that one run. Regenerate with `make bench-harness` (`make bench` adds the Go micro-benchmarks,")
	fmt.Fprintln(w, "`make bench-full` runs 4 GiB datasets into RESULTS-full.md; the targets install MinIO).")
	fmt.Fprintln(w)
	if r.Chart != "" {
		fmt.Fprintf(w, "![throughput and time per step, by tool](%s)\n\n", r.Chart)
	}
	fmt.Fprintln(w, "## Machine")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "- CPUs: %d (%s); memory: %s\n", m.CPUs, m.CPUModel, m.Memory)
	fmt.Fprintf(w, "- Go: %s; MinIO: %s, on 127.0.0.1, sharing the cores with the tools and the counting proxy\n", m.GoVersion, m.MinIO)
	fmt.Fprintf(w, "- load average (1, 5, 15 min) at start: %s; at end: %s (other processes share this machine)\n", m.LoadStart, m.LoadEnd)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "## Datasets")
	fmt.Fprintln(w)
	for _, d := range r.Datasets {
		fmt.Fprintf(w, "- %s\n", d)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "## Targets")
	fmt.Fprintln(w)
	WriteTargets(w, r.Targets)
	fmt.Fprintln(w, "## Steps")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Columns: *wall s* and *MiB/s* (node data / wall time) of the tool process (a repeated run shows its")
	fmt.Fprintln(w, "median, the fastest and the slowest repetition's wall time; its other columns are the median run's); requests by type as the")
	fmt.Fprintln(w, "proxy saw them (*objects* = PUT objects + completed multipart uploads, *MPU* = multipart create +")
	fmt.Fprintln(w, "complete); *MiB up/down* = request/response bodies on the wire; *read MiB* = file bytes the tool")
	fmt.Fprintln(w, "says it read; *peak RSS* and *CPU s* from the tool process's rusage; *MinIO CPU s* from /proc.")
	fmt.Fprintln(w, "Ratio rows are cassette/baseline: below 1x is better for times, sizes and requests, above 1x for MiB/s.")
	fmt.Fprintln(w)
	for _, s := range r.Steps {
		WriteStep(w, s)
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w, "## Notes")
		fmt.Fprintln(w)
		for _, n := range r.Notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
		fmt.Fprintln(w)
	}
}
