package harness

import (
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// ChartRef puts the runs of a step with one run label on the chart: in
// the throughput panel (MiB/s of node data, higher is better) or, for the
// steps that move little data, in the time panel (wall seconds, lower is
// better).
type ChartRef struct {
	Group string
	Time  bool
}

// Bar is one bar of the chart: one tool's run of one group.
type Bar struct {
	Group string
	Tool  string
	Value float64
	Time  bool
}

// Bars collects the chart's bars from the steps' successful runs, in the
// order the steps ran; a tool's first run of a group wins (the peers step
// repeats cassette's runs).
func (r Report) Bars() []Bar {
	var out []Bar
	seen := map[[2]string]bool{}
	for _, s := range r.Steps {
		for _, row := range s.Rows {
			ref, ok := s.Chart[row.Run]
			if !ok || !row.OK() || seen[[2]string{ref.Group, row.Tool}] {
				continue
			}
			seen[[2]string{ref.Group, row.Tool}] = true
			v := row.MiBps()
			if ref.Time {
				v = row.Usage.Wall.Seconds()
			}
			out = append(out, Bar{Group: ref.Group, Tool: row.Tool, Value: v, Time: ref.Time})
		}
	}
	return out
}

// toolColors: cassette stands out, the baseline is grey, peers are muted.
var toolColors = map[string]color.RGBA{
	ToolCassette:  {R: 0xd9, G: 0x5f, B: 0x02, A: 0xff},
	ToolBaseline:  {R: 0x8c, G: 0x8c, B: 0x8c, A: 0xff},
	baselineFsync: {R: 0xbd, G: 0xbd, B: 0xbd, A: 0xff},
	"restic":      {R: 0x1b, G: 0x9e, B: 0x77, A: 0xff},
	"kopia":       {R: 0x75, G: 0x70, B: 0xb3, A: 0xff},
}

var toolOrder = []string{ToolCassette, ToolBaseline, baselineFsync, "restic", "kopia"}

// WriteChart draws the report's bars as two horizontal grouped bar charts
// (throughput, then time) into path; the extension picks the format (.svg
// or .png).
func (r Report) WriteChart(path string) error {
	bars := r.Bars()
	var tp, tm []Bar
	for _, b := range bars {
		if b.Time {
			tm = append(tm, b)
		} else {
			tp = append(tp, b)
		}
	}
	if len(tp) == 0 && len(tm) == 0 {
		return fmt.Errorf("chart: no successful run to draw")
	}
	plot.DefaultFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
	plotter.DefaultFont = plot.DefaultFont
	m := r.Machine
	title := fmt.Sprintf("cassette bench, %s, %d CPUs, MinIO on 127.0.0.1", m.Date.UTC().Format("2006-01-02"), m.CPUs)
	var plots []*plot.Plot
	var heights []vg.Length
	for _, panel := range []struct {
		bars  []Bar
		label string
	}{{tp, "MiB/s of node data (higher is better)"}, {tm, "wall seconds (lower is better)"}} {
		if len(panel.bars) == 0 {
			continue
		}
		p, h, err := barPlot(panel.bars, panel.label)
		if err != nil {
			return err
		}
		if len(plots) == 0 {
			p.Title.Text = title
			h += 0.3 * vg.Inch
		}
		plots = append(plots, p)
		heights = append(heights, h+0.7*vg.Inch) // the X axis and its label
	}
	var height vg.Length
	for _, h := range heights {
		height += h
	}
	c, err := newCanvas(path, 8*vg.Inch, height)
	if err != nil {
		return err
	}
	dc := draw.New(c)
	// Panels stacked top to bottom, each as tall as its groups need.
	top := dc.Max.Y
	for i, p := range plots {
		sub := dc
		sub.Max.Y, sub.Min.Y = top, top-heights[i]
		p.Draw(sub)
		top -= heights[i]
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.(io.WriterTo).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("chart %s: %w", path, err)
	}
	return f.Close()
}

func newCanvas(path string, w, h vg.Length) (vg.CanvasSizer, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".svg":
		return vgsvg.New(w, h), nil
	case ".png":
		return vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110), vgimg.UseBackgroundColor(color.White))}, nil
	}
	return nil, fmt.Errorf("chart %s: want a .svg or .png file", path)
}

// barPlot draws bars as horizontal groups (one per Group, top to bottom in
// order of appearance) with one bar per tool and its value written at its
// end. It returns the height the groups need.
func barPlot(bars []Bar, xlabel string) (*plot.Plot, vg.Length, error) {
	var groups, tools []string
	for _, b := range bars {
		if !slices.Contains(groups, b.Group) {
			groups = append(groups, b.Group)
		}
	}
	for _, t := range toolOrder {
		if slices.ContainsFunc(bars, func(b Bar) bool { return b.Tool == t }) {
			tools = append(tools, t)
		}
	}
	for _, b := range bars {
		if !slices.Contains(tools, b.Tool) {
			tools = append(tools, b.Tool)
		}
	}
	p := plot.New()
	p.X.Label.Text = xlabel
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Y.Tick.Label.Font.Size = vg.Points(9)
	p.Add(plotter.NewGrid())
	n := len(groups)
	legend, entries := map[string]bool{}, map[string]plot.Thumbnailer{}
	const barW = vg.Length(0.13 * vg.Inch)
	var top float64
	// One bar chart per bar: each group centres the tools it has.
	for gi, g := range groups {
		var present []Bar
		for _, t := range tools {
			if i := slices.IndexFunc(bars, func(b Bar) bool { return b.Group == g && b.Tool == t }); i >= 0 {
				present = append(present, bars[i])
			}
		}
		// Groups run top to bottom: the first group gets the highest Y.
		y := float64(n - 1 - gi)
		for i, b := range present {
			top = max(top, b.Value)
			bc, err := plotter.NewBarChart(plotter.Values{b.Value}, barW)
			if err != nil {
				return nil, 0, err
			}
			bc.Horizontal, bc.XMin = true, y
			bc.LineStyle.Width = 0
			if c, ok := toolColors[b.Tool]; ok {
				bc.Color = c
			}
			bc.Offset = barW * vg.Length(float64(len(present)-1)/2-float64(i))
			label := fmt.Sprintf("%.0f", b.Value)
			if b.Time {
				label = fmt.Sprintf("%.2f s", b.Value)
			}
			lb, err := plotter.NewLabels(plotter.XYLabels{XYs: []plotter.XY{{X: b.Value, Y: y}}, Labels: []string{label}})
			if err != nil {
				return nil, 0, err
			}
			lb.TextStyle[0].Font.Size = vg.Points(7)
			lb.TextStyle[0].YAlign = draw.YCenter
			lb.Offset = vg.Point{X: vg.Points(2), Y: bc.Offset}
			p.Add(bc, lb)
			if !legend[b.Tool] {
				legend[b.Tool] = true
				entries[b.Tool] = bc
			}
		}
	}
	for _, t := range tools {
		p.Legend.Add(t, entries[t])
	}
	// Room right of the longest bar for its value and the legend.
	p.X.Min, p.X.Max = 0, top*1.45
	ticks := make([]string, n)
	for i, g := range groups {
		ticks[n-1-i] = g
	}
	p.NominalY(ticks...)
	p.Y.Min, p.Y.Max = -0.6, float64(n)-0.4
	most := 0
	for _, g := range groups {
		most = max(most, len(slices.DeleteFunc(slices.Clone(bars), func(b Bar) bool { return b.Group != g })))
	}
	return p, vg.Length(n) * (vg.Length(most)*barW + 0.2*vg.Inch), nil
}
