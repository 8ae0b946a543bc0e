package console

import (
	"fmt"
)

// chart is the Repository page's bar chart of bytes per backup over time,
// laid out here and drawn as inline SVG by the template (no script, no
// image file).
type chart struct {
	W, H    int
	Label   string
	Bars    []bar
	Ticks   []tick
	XLabels []xlabel
	// Left, Bottom and Right frame the plot area.
	Left, Bottom, Right float64
}

type bar struct {
	X, Y, W, H float64
	Title      string
}

type tick struct {
	Y     float64
	Label string
}

type xlabel struct {
	X      float64
	Label  string
	Anchor string
}

const (
	chartW, chartH = 720, 260
	marginL        = 72
	marginR        = 12
	marginT        = 12
	marginB        = 34
)

// newChart plots what each backup added to the repository (stored
// bytes), or, when only the sidecars' totals are known, each backup's
// size.
func newChart(st *repoStats) chart {
	c := chart{W: chartW, H: chartH, Left: marginL, Bottom: chartH - marginB, Right: chartW - marginR,
		Label: "Bytes each backup added to the repository (compressed new chunks), oldest first"}
	value := func(b repoBackup) int64 { return b.Stored }
	if st.Source != sourceRepository {
		c.Label = "Size of each backup (the sidecars' totalSize), oldest first"
		value = func(b repoBackup) int64 { return b.Referenced }
	}
	var top int64 = 1
	for _, b := range st.Backups {
		top = max(top, value(b))
	}
	plotW, plotH := c.Right-c.Left, c.Bottom-marginT
	for i := 0; i <= 4; i++ {
		v := top * int64(i) / 4
		c.Ticks = append(c.Ticks, tick{Y: c.Bottom - plotH*float64(i)/4, Label: humanBytes(v)})
	}
	n := len(st.Backups)
	if n == 0 {
		return c
	}
	slot := plotW / float64(n)
	w := max(slot*0.7, 1)
	for i, b := range st.Backups {
		h := plotH * float64(value(b)) / float64(top)
		x := c.Left + slot*float64(i) + (slot-w)/2
		c.Bars = append(c.Bars, bar{X: x, Y: c.Bottom - h, W: w, H: h,
			Title: fmt.Sprintf("%s, %s: %s", b.Name, stamp(b.Start), humanBytes(value(b)))})
	}
	first, last := st.Backups[0], st.Backups[n-1]
	c.XLabels = append(c.XLabels, xlabel{X: c.Left, Label: day(first), Anchor: "start"})
	if n > 1 {
		c.XLabels = append(c.XLabels, xlabel{X: c.Right, Label: day(last), Anchor: "end"})
	}
	return c
}

func day(b repoBackup) string {
	if b.Start.IsZero() {
		return b.Name
	}
	return b.Start.UTC().Format("2006-01-02 15:04")
}
