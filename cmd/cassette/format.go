package main

import (
	"fmt"
	"time"

	"github.com/dustin/go-humanize"
)

func humanBytes(n int64) string {
	if n < 0 {
		return "-" + humanize.IBytes(uint64(-n))
	}
	return humanize.IBytes(uint64(n))
}

func parseSize(s string) (int64, error) {
	v, err := humanize.ParseBytes(s)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w (examples: 32MiB, 64MB, 1048576)", s, err)
	}
	return int64(v), nil
}

func rate(bytes int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return humanize.IBytes(uint64(float64(bytes)/d.Seconds())) + "/s"
}

func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}
