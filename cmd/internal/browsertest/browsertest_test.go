package browsertest

import (
	"bytes"
	"fmt"
	"html"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// The pages of the self-test: a form that posts and redirects, as the
// console's forms do, a button counting clicks, a checkbox, a tall page for
// full-page screenshots, and one page that overflows sideways.
const (
	head = `<!doctype html><html><head><meta charset="utf-8">` +
		`<meta name="viewport" content="width=device-width, initial-scale=1"><title>self-test</title>` +
		`<style>body{font-family:sans-serif;margin:0;padding:1rem} input,button{font-size:1rem;max-width:100%}</style></head><body>`
	formPage = head + `<a id="first" href="#">skip</a>
<form id="f" method="post" action="/submit">
  <label>Name <input name="name" id="name"></label>
  <label>Bucket <input name="bucket" id="bucket"></label>
  <label><input type="checkbox" name="secure" id="secure"> secure</label>
  <select name="provider" id="provider"><option value="local">Local</option><option value="s3_compatible">S3 compatible</option><option value="azure_blobs">Azure</option></select>
  <label><input type="radio" name="mode" value="now" checked> now</label>
  <label><input type="radio" name="mode" value="schedule"> schedule</label>
  <button id="save" type="submit">Save</button>
</form>
<button id="inc" type="button" data-count="0" onclick="this.dataset.count = +this.dataset.count + 1">+1</button>
<p id="gone">click to remove</p><button id="remove" type="button" onclick="document.getElementById('gone').remove()">remove</button>
<div style="height:2400px;background:linear-gradient(#fff,#9cf)"></div></body></html>`
	doneTag  = `<p id="done" data-name="%s" data-bucket="%s" data-secure="%s" data-provider="%s" data-mode="%s">saved</p>`
	widePage = head + `<p>fine</p><table id="wide" style="width:1600px"><tr><td>too wide</td></tr></table></body></html>`
	// The same table in a scrolling wrapper fits; a visually hidden label
	// in its last cell, absolutely positioned, escapes the wrapper's
	// overflow (its containing block is the page) and widens the page.
	scrolledPage = head + `<style>.wrap{overflow-x:auto} .sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0,0,0,0)}</style>` +
		`<div class="wrap"><table style="width:1600px"><tr><td>wide</td><td style="text-align:right">CELL</td></tr></table></div></body></html>`
	// No viewport meta tag: a phone lays it out 980 pixels wide.
	noMetaPage = `<!doctype html><html><head><title>no meta</title></head><body><p>text</p></body></html>`
)

func pages(t *testing.T) *httptest.Server {
	var mu sync.Mutex
	var posted string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, formPage) })
	mux.HandleFunc("POST /submit", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		mu.Lock()
		posted = head + fmt.Sprintf(doneTag, html.EscapeString(r.Form.Get("name")), html.EscapeString(r.Form.Get("bucket")), html.EscapeString(r.Form.Get("secure")),
			html.EscapeString(r.Form.Get("provider")), html.EscapeString(r.Form.Get("mode")))
		mu.Unlock()
		http.Redirect(w, r, "/done", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprint(w, posted)
	})
	mux.HandleFunc("GET /wide", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, widePage) })
	mux.HandleFunc("GET /scrolled", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Replace(scrolledPage, "CELL", "end", 1))
	})
	mux.HandleFunc("GET /escape", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Replace(scrolledPage, "CELL", `end <span class="sr-only">hidden label</span>`, 1))
	})
	mux.HandleFunc("GET /nometa", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, noMetaPage) })
	srv := httptest.NewServer(mux) // 127.0.0.1
	t.Cleanup(srv.Close)
	return srv
}

func TestBrowserSelfTest(t *testing.T) {
	srv := pages(t)
	ctx := Start(t)

	t.Run("click", func(t *testing.T) {
		Navigate(t, ctx, srv.URL+"/form")
		Click(t, ctx, "#inc")
		Click(t, ctx, "#inc")
		WaitFor(t, ctx, `#inc[data-count="2"]`)
		Click(t, ctx, "#remove")
		WaitGone(t, ctx, "#gone")
		if n := Count(t, ctx, "button"); n != 3 {
			t.Errorf("%d buttons, want 3", n)
		}
	})

	t.Run("keyboard submit", func(t *testing.T) {
		Navigate(t, ctx, srv.URL+"/form")
		if n := TabTo(t, ctx, `input[name="name"]`); n != 2 {
			t.Errorf("name field after %d presses of Tab, want 2 (the skip link first)", n)
		}
		Type(t, ctx, "Ada <Lovelace>")
		PressTab(t, ctx, 1)
		if !Focused(t, ctx, "#bucket") {
			t.Fatalf("Tab from name focused %s", ActiveElement(t, ctx))
		}
		Type(t, ctx, "backups-1")
		TabTo(t, ctx, "#secure")
		Press(t, ctx, Space)
		if !Eval[bool](t, ctx, `document.getElementById("secure").checked`) {
			t.Error("Space did not check the focused checkbox")
		}
		Check(t, ctx, false)
		Check(t, ctx, true)
		Check(t, ctx, true)
		TabTo(t, ctx, "#provider")
		Choose(t, ctx, "azure_blobs")
		Choose(t, ctx, "s3_compatible") // back up the list
		TabTo(t, ctx, `input[name="mode"]`)
		Choose(t, ctx, "schedule")
		TabTo(t, ctx, "#bucket") // Tab wraps around the document and back
		Press(t, ctx, Enter)     // implicit submission from a text field
		WaitFor(t, ctx, `#done[data-name="Ada <Lovelace>"][data-bucket="backups-1"][data-secure="on"][data-provider="s3_compatible"][data-mode="schedule"]`)
	})

	t.Run("enter on a focused button", func(t *testing.T) {
		Navigate(t, ctx, srv.URL+"/form")
		TabTo(t, ctx, "#name")
		Type(t, ctx, "Grace")
		Fill(t, ctx, "#name", "Grace Hopper") // replaces, not appends
		Fill(t, ctx, "#bucket", "")
		TabTo(t, ctx, "#save")
		Loads(t, ctx, func() { Press(t, ctx, Enter) })
		if n := Count(t, ctx, "#done"); n != 1 {
			t.Errorf("Loads returned before the next page: %d #done", n)
		}
		WaitFor(t, ctx, `#done[data-name="Grace Hopper"][data-bucket=""][data-secure=""][data-provider="local"][data-mode="now"]`)
	})

	t.Run("screenshot", func(t *testing.T) {
		for _, v := range []Viewport{Desktop, Phone} {
			SetViewport(t, ctx, v)
			Navigate(t, ctx, srv.URL+"/form")
			path := Screenshot(t, ctx, "browsertest-selftest-"+v.Name)
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			scale := int64(1)
			if v.Mobile {
				scale = 2
			}
			// Full page: the 2400px block is in the picture, not only the window.
			if b := img.Bounds(); int64(b.Dx()) != v.Width*scale || int64(b.Dy()) <= 2400*scale {
				t.Errorf("%s: %dx%d, want %d wide and taller than the 2400px page", path, b.Dx(), b.Dy(), v.Width*scale)
			}
		}
		SetViewport(t, ctx, Desktop)
	})

	t.Run("overflow", func(t *testing.T) {
		for _, v := range []Viewport{Desktop, Phone} {
			SetViewport(t, ctx, v)
			Navigate(t, ctx, srv.URL+"/form")
			NoHorizontalOverflow(t, ctx, "form page at "+v.Name)
			Navigate(t, ctx, srv.URL+"/wide")
			msg, err := HorizontalOverflow(ctx)
			if err != nil || !strings.Contains(msg, "table#wide") {
				t.Errorf("wide page at %s: %q, %v; want an overflow naming table#wide", v.Name, msg, err)
			}
			Navigate(t, ctx, srv.URL+"/scrolled")
			NoHorizontalOverflow(t, ctx, "table in a scrolling wrapper at "+v.Name)
			Navigate(t, ctx, srv.URL+"/escape")
			if msg, err := HorizontalOverflow(ctx); err != nil || !strings.Contains(msg, "span.sr-only (right edge") || strings.Contains(msg, "table (right edge") {
				t.Errorf("escaping label at %s: %q, %v; want an overflow naming span.sr-only alone", v.Name, msg, err)
			}
		}
		// At the desktop width the page without a viewport tag fits; on a
		// phone it is laid out 980px wide.
		Navigate(t, ctx, srv.URL+"/nometa")
		if msg, err := HorizontalOverflow(ctx); msg == "" || err != nil || !strings.Contains(msg, "laid out 980px wide on a 390px screen: the page has no <meta name") {
			t.Errorf("page without a viewport tag on a phone: %q, %v", msg, err)
		}
		SetViewport(t, ctx, Desktop)
		NoHorizontalOverflow(t, ctx, "page without a viewport tag at desktop")
	})
}

// TestBrowserUnavailable runs a test that starts a browser that does not
// exist: skipped on a developer's machine, failed under CI or
// CASSETTE_REQUIRE_SERVERS=1 with what to install. Needs no browser.
func TestBrowserUnavailable(t *testing.T) {
	if os.Getenv("BROWSERTEST_PROBE") != "" {
		Start(t)
		t.Fatal("Start returned without a browser")
	}
	for _, tc := range []struct {
		env      []string
		wantFail bool
	}{
		{nil, false},
		{[]string{"CI=true"}, true},
		{[]string{"CASSETTE_REQUIRE_SERVERS=1"}, true},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBrowserUnavailable$", "-test.v")
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "CI=") && !strings.HasPrefix(kv, "CASSETTE_") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, append(tc.env, "BROWSERTEST_PROBE=1", "CASSETTE_CHROMIUM=/nonexistent/chromium")...)
		out, err := cmd.CombinedOutput()
		s := string(out)
		if !strings.Contains(s, "no executable Chromium at /nonexistent/chromium") || !strings.Contains(s, "scripts/install-chromium.sh") {
			t.Errorf("%v: the message does not say what is missing and what to do:\n%s", tc.env, s)
		}
		if failed := err != nil && strings.Contains(s, "--- FAIL"); failed != tc.wantFail || (!tc.wantFail && !strings.Contains(s, "--- SKIP")) {
			t.Errorf("%v: failed=%v, want %v (%v):\n%s", tc.env, failed, tc.wantFail, err, s)
		}
	}
}
