package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Viewport is a screen the console must work on.
type Viewport struct {
	Name          string // for screenshot names: storage-desktop.png
	Width, Height int64  // CSS pixels
	// Mobile emulates a phone: touch, a device pixel ratio of 2, and a page
	// without <meta name="viewport" content="width=device-width"> laid out
	// 980 pixels wide and shrunk, as a phone does.
	Mobile bool
}

var (
	// Desktop is a laptop's browser window.
	Desktop = Viewport{Name: "desktop", Width: 1280, Height: 800}
	// Phone is a phone held upright (the size of an iPhone 12 to 15).
	Phone = Viewport{Name: "phone", Width: 390, Height: 844, Mobile: true}
)

// SetViewport emulates v in ctx's tab; the page lays itself out again at
// once, without a reload.
func SetViewport(t testing.TB, ctx context.Context, v Viewport) {
	t.Helper()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulatePortrait, func(p *emulation.SetDeviceMetricsOverrideParams, _ *emulation.SetTouchEmulationEnabledParams) {
		// The screen is the window: a page may compare against either.
		p.ScreenWidth, p.ScreenHeight = v.Width, v.Height
	}}
	if v.Width > v.Height {
		opts[0] = chromedp.EmulateLandscape
	}
	if v.Mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2))
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(v.Width, v.Height, opts...)); err != nil {
		t.Fatalf("viewport %s (%dx%d): %v", v.Name, v.Width, v.Height, err)
	}
}

// overflowJS measures the page against the window. A phone lays a page out
// wider than its screen when the page has no viewport meta tag, or when
// something in it is wider than the screen even with one; either way the
// user scrolls sideways, so both count. The culprits, to say where to look,
// are the innermost elements sticking out that no scrolling or clipping
// ancestor holds in, with their parents: an absolutely positioned element
// escapes the overflow of every ancestor below its containing block.
const overflowJS = `(() => {
	const doc = document.documentElement, limit = Math.min(window.innerWidth, screen.width) + 1;
	const meta = document.querySelector('meta[name="viewport"]');
	const r = {scrollWidth: doc.scrollWidth, innerWidth: window.innerWidth, screenWidth: screen.width,
		viewportMeta: meta ? meta.content : "", culprits: []};
	if (doc.scrollWidth <= window.innerWidth + 1 && window.innerWidth <= screen.width + 1) return r;
	const escapes = e => {
		let pos = getComputedStyle(e).position;
		for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
			if (pos === "fixed") return true;
			const s = getComputedStyle(a);
			if (pos === "absolute" && s.position === "static" && s.transform === "none") continue;
			if (s.overflowX !== "visible") return false;
			pos = s.position;
		}
		return true;
	};
	const name = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
		(typeof e.className === "string" && e.className.trim() ? "." + e.className.trim().split(/\s+/).join(".") : "");
	const path = e => { const p = []; for (let a = e; a && a !== document.body && p.length < 5; a = a.parentElement) p.unshift(name(a)); return p.join(" > "); };
	const out = [...(document.body ? document.body.querySelectorAll("*") : [])].filter(e => {
		const b = e.getBoundingClientRect();
		return b.right > limit && b.width > 0 && escapes(e);
	});
	const inner = out.filter(e => !out.some(d => d !== e && e.contains(d)));
	inner.sort((a, b) => b.getBoundingClientRect().right - a.getBoundingClientRect().right);
	r.culprits = inner.slice(0, 5).map(e => path(e) + " (right edge " + Math.round(e.getBoundingClientRect().right) + "px)");
	return r;
})()`

// HorizontalOverflow reports how the page in ctx overflows the window
// sideways (document.documentElement.scrollWidth > window.innerWidth+1, or
// a layout wider than the screen), or "" when it does not.
func HorizontalOverflow(ctx context.Context) (string, error) {
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](overflowJS))
	if err != nil {
		return "", fmt.Errorf("measure overflow: %w", err)
	}
	var r struct {
		ScrollWidth, InnerWidth, ScreenWidth int
		ViewportMeta                         string
		Culprits                             []string
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return "", fmt.Errorf("measure overflow: %s: %w", raw, err)
	}
	culprits := "sticking out: " + strings.Join(r.Culprits, "; ")
	switch {
	case r.InnerWidth > r.ScreenWidth+1 && r.ViewportMeta == "":
		return fmt.Sprintf("laid out %dpx wide on a %dpx screen: the page has no <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">; %s",
			r.InnerWidth, r.ScreenWidth, culprits), nil
	case r.InnerWidth > r.ScreenWidth+1:
		return fmt.Sprintf("laid out %dpx wide on a %dpx screen (viewport %q): content wider than the screen; %s",
			r.InnerWidth, r.ScreenWidth, r.ViewportMeta, culprits), nil
	case r.ScrollWidth > r.InnerWidth+1:
		return fmt.Sprintf("scrollWidth %dpx > window.innerWidth %dpx; %s", r.ScrollWidth, r.InnerWidth, culprits), nil
	}
	return "", nil
}

// NoHorizontalOverflow fails the test, without stopping it, when the page
// scrolls sideways; what names the page and viewport in the message.
func NoHorizontalOverflow(t testing.TB, ctx context.Context, what string) bool {
	t.Helper()
	msg, err := HorizontalOverflow(ctx)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if msg != "" {
		t.Errorf("%s (%s) overflows horizontally: %s", what, location(ctx), msg)
		return false
	}
	return true
}
