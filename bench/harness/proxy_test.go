package harness

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		method, target string
		want           Kind
	}{
		{"PUT", "/b/k/ey", KindPutObject},
		{"PUT", "/b/k?partNumber=2&uploadId=x", KindUploadPart},
		{"PUT", "/b", KindOther},
		{"PUT", "/b/", KindOther},
		{"POST", "/b/k?uploads", KindCreateMPU},
		{"POST", "/b/k?uploadId=x", KindCompleteMPU},
		{"POST", "/b?delete", KindDelete},
		{"GET", "/b/k", KindGet},
		{"GET", "/b?list-type=2&prefix=p/", KindList},
		{"GET", "/b/?uploads", KindList},
		{"GET", "/b/k?uploadId=x", KindList},
		{"HEAD", "/b/k", KindHead},
		{"HEAD", "/b", KindHead},
		{"DELETE", "/b/k", KindDelete},
		{"DELETE", "/b/k?uploadId=x", KindDelete},
		{"PATCH", "/b/k", KindOther},
	}
	for _, c := range cases {
		u, err := url.Parse(c.target)
		if err != nil {
			t.Fatal(err)
		}
		if got := Classify(c.method, u); got != c.want {
			t.Errorf("Classify(%s %s) = %d, want %d", c.method, c.target, got, c.want)
		}
	}
}

func TestProxyCounts(t *testing.T) {
	var hosts []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hosts = append(hosts, r.Host)
		n, _ := io.Copy(io.Discard, r.Body)
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/missing"):
			w.WriteHeader(http.StatusNotFound)
		case r.Method == http.MethodGet:
			w.Write(bytes.Repeat([]byte("d"), 1000)) // 1000 bytes down
		case n > 0:
			w.Write([]byte("ok")) // 2 bytes down
		}
	}))
	defer upstream.Close()
	target, _ := url.Parse(upstream.URL)
	p := NewProxy(target)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	base := "http://" + p.Addr()
	do := func(method, path string, body []byte) {
		t.Helper()
		var r io.Reader
		if body != nil {
			r = bytes.NewReader(body)
		}
		req, err := http.NewRequest(method, base+path, r)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	mark0 := p.Counts()
	do("PUT", "/b/small", make([]byte, 100))
	do("POST", "/b/big?uploads", nil)
	do("PUT", "/b/big?partNumber=1&uploadId=u", make([]byte, 5000))
	do("PUT", "/b/big?partNumber=2&uploadId=u", make([]byte, 3000))
	do("POST", "/b/big?uploadId=u", []byte("<x/>"))
	do("GET", "/b/small", nil)
	do("GET", "/b/missing", nil)
	do("HEAD", "/b/small", nil)
	do("GET", "/b?list-type=2", nil)
	do("DELETE", "/b/small", nil)
	do("POST", "/b?delete", []byte("<Delete/>"))
	got := p.Counts().Sub(mark0)
	want := Counts{
		PutObject: 1, UploadPart: 2, CreateMPU: 1, CompleteMPU: 1, Get: 2, Head: 1, List: 1, Delete: 2,
		Failed:    1,
		BytesUp:   100 + 5000 + 3000 + 4 + 9,
		BytesDown: 2*5 + 1000 + 1000, // "ok" for each request with a body; GET bodies (404 has none)
	}
	if got != want {
		t.Errorf("counts\n got %+v\nwant %+v", got, want)
	}
	if got.Requests() != 11 || got.Objects() != 2 || got.Puts() != 3 {
		t.Errorf("Requests %d Objects %d Puts %d, want 11 2 3", got.Requests(), got.Objects(), got.Puts())
	}
	for _, h := range hosts {
		if h != p.Addr() {
			t.Fatalf("upstream saw Host %q, want the proxy's %q (SigV4 signs it)", h, p.Addr())
		}
	}
	keys, mark := p.Written(0)
	if strings.Join(keys, ",") != "/b/small,/b/big" || mark != 2 {
		t.Errorf("Written = %v, %d", keys, mark)
	}
	do("PUT", "/b/third", []byte("x"))
	if keys, _ := p.Written(mark); len(keys) != 1 || keys[0] != "/b/third" {
		t.Errorf("Written(mark) = %v", keys)
	}
}

func TestProxyUpstreamDown(t *testing.T) {
	upstream := httptest.NewServer(http.NotFoundHandler())
	target, _ := url.Parse(upstream.URL)
	upstream.Close()
	p := NewProxy(target)
	srv := httptest.NewServer(p)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/b/k")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502", resp.StatusCode)
	}
	if c := p.Counts(); c.Get != 1 || c.Failed != 1 {
		t.Errorf("counts %+v, want one failed GET", c)
	}
}
