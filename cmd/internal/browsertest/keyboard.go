package browsertest

import (
	"context"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Keys for Press: real key events (keyDown, char, keyUp), so the page sees
// what a keyboard user's browser would do with them: Enter submits a form
// from a text field and activates a focused link or button, Space activates
// a focused button and toggles a focused checkbox.
const (
	Enter = kb.Enter
	Space = " "
	Tab   = kb.Tab
	Down  = kb.ArrowDown
)

// maxTabs bounds TabTo: a page where this many presses do not reach the
// element is one a keyboard user cannot use either.
const maxTabs = 60

// Press sends key (Enter, Space, Tab, Down, or any text) to the focused
// element.
func Press(t testing.TB, ctx context.Context, key string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.KeyEvent(key)); err != nil {
		t.Fatalf("press %q on %s: %v", key, location(ctx), err)
	}
}

// Type types text, key by key, into the focused element.
func Type(t testing.TB, ctx context.Context, text string) {
	t.Helper()
	Press(t, ctx, text)
}

// PressTab presses Tab n times.
func PressTab(t testing.TB, ctx context.Context, n int) {
	t.Helper()
	for range n {
		Press(t, ctx, Tab)
	}
}

// TabTo presses Tab until the focused element matches the CSS selector sel,
// as a keyboard user moves through the page, and returns how many presses
// it took. It fails the test, naming the elements focus went through, when
// focus does not get there.
func TabTo(t testing.TB, ctx context.Context, sel string) int {
	t.Helper()
	if Focused(t, ctx, sel) {
		return 0
	}
	var path []string
	for n := 1; n <= maxTabs; n++ {
		Press(t, ctx, Tab)
		if Focused(t, ctx, sel) {
			return n
		}
		if len(path) < 20 {
			path = append(path, ActiveElement(t, ctx))
		}
	}
	t.Fatalf("%d presses of Tab on %s never focused %s; focus went through %q", maxTabs, location(ctx), sel, path)
	return 0
}

// Focused reports whether the focused element matches the CSS selector sel.
func Focused(t testing.TB, ctx context.Context, sel string) bool {
	t.Helper()
	return Eval[bool](t, ctx, "(() => { const e = document.activeElement; return !!e && e.matches("+strconv.Quote(sel)+"); })()")
}

// ActiveElement describes the focused element (tag, id, name, text), for
// messages.
func ActiveElement(t testing.TB, ctx context.Context) string {
	t.Helper()
	return Eval[string](t, ctx, `(() => {
		const e = document.activeElement;
		if (!e) return "(nothing)";
		let s = e.tagName.toLowerCase();
		if (e.id) s += "#" + e.id;
		if (e.name) s += "[name=" + e.name + "]";
		const text = (e.innerText || e.value || "").trim().slice(0, 30);
		return text ? s + " " + JSON.stringify(text) : s;
	})()`)
}

// Choose picks value in the focused <select>, or in the focused radio
// button's group, with the arrow keys, as a keyboard user does, and fails
// the test when no option or radio button has that value.
func Choose(t testing.TB, ctx context.Context, value string) {
	t.Helper()
	// How many presses of Down (positive) or Up (negative) reach value from
	// the current choice; radio groups wrap around, so Down alone suffices.
	steps := Eval[int](t, ctx, `((want) => {
		const e = document.activeElement;
		if (e && e.tagName === "SELECT") {
			const i = [...e.options].findIndex(o => o.value === want);
			return i < 0 ? -1000 : i - e.selectedIndex;
		}
		if (e && e.type === "radio") {
			const group = [...document.querySelectorAll("input[type=radio]")].filter(r => r.name === e.name && r.form === e.form);
			const i = group.findIndex(r => r.value === want), at = group.indexOf(e);
			return i < 0 ? -1000 : (i - at + group.length) % group.length;
		}
		return -2000;
	})(`+strconv.Quote(value)+`)`)
	switch {
	case steps == -2000:
		t.Fatalf("choose %q on %s: the focused element %s is not a select or a radio button", value, location(ctx), ActiveElement(t, ctx))
	case steps == -1000:
		t.Fatalf("choose %q on %s: %s has no such option", value, location(ctx), ActiveElement(t, ctx))
	}
	key := Down
	if steps < 0 {
		key, steps = kb.ArrowUp, -steps
	}
	for range steps {
		Press(t, ctx, key)
	}
	// A radio group checks the radio button focus moves to.
	if got := Eval[string](t, ctx, `(() => { const e = document.activeElement; return e.type === "radio" && !e.checked ? "" : e.value; })()`); got != value {
		t.Fatalf("choose %q on %s: the arrow keys got to %q", value, location(ctx), got)
	}
}

// Fill focuses the field that matches the CSS selector sel, selects its
// text and types text over it: editing a field as a user does, with the
// input events a page listens to.
func Fill(t testing.TB, ctx context.Context, sel, text string) {
	t.Helper()
	WaitFor(t, ctx, sel)
	if err := chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(sel))); err != nil {
		t.Fatalf("focus %s on %s: %v", sel, location(ctx), err)
	}
	Eval[chromedp.Void](t, ctx, `(() => { const e = document.activeElement; if (e.select) e.select(); })()`)
	if text == "" {
		Press(t, ctx, kb.Backspace)
		return
	}
	Type(t, ctx, text)
}

// Check sets the focused checkbox to want, pressing Space when it is not,
// so a test states the value it needs whatever the form's default.
func Check(t testing.TB, ctx context.Context, want bool) {
	t.Helper()
	checked := `(() => { const e = document.activeElement; return e.type === "checkbox" ? e.checked : null; })()`
	got := Eval[*bool](t, ctx, checked)
	if got == nil {
		t.Fatalf("check on %s: the focused element %s is not a checkbox", location(ctx), ActiveElement(t, ctx))
	}
	if *got != want {
		Press(t, ctx, Space)
	}
	if got := Eval[*bool](t, ctx, checked); got == nil || *got != want {
		t.Fatalf("check on %s: Space did not set %s to %v", location(ctx), ActiveElement(t, ctx), want)
	}
}
