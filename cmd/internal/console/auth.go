package console

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Users are the accounts of --http-auth-file: lines "user:hash", where the
// hash is bcrypt ($2a$, $2b$ or $2y$, as `htpasswd -nbB user PASSWORD`
// writes) or "sha256:" and 64 hex digits (`printf %s PASSWORD | sha256sum`).
// Blank lines and lines starting with # are ignored.
type Users struct {
	hashes map[string]string
	// dummy is compared against for unknown users, at the cost of the
	// file's bcrypt hashes, so that a wrong user name takes as long as a
	// wrong password.
	dummy []byte

	mu sync.Mutex
	// ok remembers credentials that matched, by their SHA-256, so that the
	// activity poll does not pay a bcrypt comparison every second. It holds
	// no password.
	ok map[[32]byte]bool
}

// maxAuthFile bounds what LoadUsers reads.
const maxAuthFile = 1 << 20

// LoadUsers reads an auth file. Errors name the file and line, never a
// hash.
func LoadUsers(path string) (*Users, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--http-auth-file %s: %v; give a file of user:hash lines (docs/console.md)", path, unwrapPath(err))
	}
	if len(data) > maxAuthFile {
		return nil, fmt.Errorf("--http-auth-file %s is larger than 1 MiB: not a file of user:hash lines", path)
	}
	u := &Users{hashes: map[string]string{}, ok: map[[32]byte]bool{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		user, hash, ok := strings.Cut(text, ":")
		user = strings.TrimSpace(user)
		switch {
		case !ok || user == "":
			return nil, fmt.Errorf("%s:%d: not a user:hash line; write e.g. the output of `htpasswd -nbB admin PASSWORD`", path, line)
		case u.hashes[user] != "":
			return nil, fmt.Errorf("%s:%d: user %q is listed twice; keep one line per user", path, line, user)
		case !validHash(hash):
			return nil, fmt.Errorf("%s:%d: the hash of user %q is neither bcrypt ($2y$...) nor sha256:<64 hex digits>; make one with `htpasswd -nbB %s PASSWORD`", path, line, user, user)
		}
		u.hashes[user] = hash
	}
	if len(u.hashes) == 0 {
		return nil, fmt.Errorf("--http-auth-file %s lists no user; add user:hash lines (docs/console.md)", path)
	}
	cost := bcrypt.MinCost
	for _, h := range u.hashes {
		if c, err := bcrypt.Cost([]byte(h)); err == nil {
			cost = max(cost, c)
		}
	}
	if u.dummy, err = bcrypt.GenerateFromPassword([]byte("cassette"), cost); err != nil {
		return nil, fmt.Errorf("--http-auth-file %s: %w", path, err)
	}
	return u, nil
}

func validHash(h string) bool {
	if hexDigits, ok := strings.CutPrefix(h, "sha256:"); ok {
		b, err := hex.DecodeString(hexDigits)
		return err == nil && len(b) == sha256.Size
	}
	_, err := bcrypt.Cost([]byte(h))
	return err == nil
}

// Check reports whether pass is user's password.
func (u *Users) Check(user, pass string) bool {
	key := sha256.Sum256([]byte(user + "\x00" + pass))
	u.mu.Lock()
	hit := u.ok[key]
	u.mu.Unlock()
	if hit {
		return true
	}
	hash, known := u.hashes[user]
	var match bool
	if digest, ok := strings.CutPrefix(hash, "sha256:"); ok && known {
		sum := sha256.Sum256([]byte(pass))
		match = subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(strings.ToLower(digest))) == 1
	} else if known {
		match = bcrypt.CompareHashAndPassword([]byte(hash), []byte(pass)) == nil
	} else {
		_ = bcrypt.CompareHashAndPassword(u.dummy, []byte(pass))
	}
	if match {
		u.mu.Lock()
		if len(u.ok) > 256 {
			clear(u.ok)
		}
		u.ok[key] = true
		u.mu.Unlock()
	}
	return match
}

// requireUser answers 401 to every request without valid basic-auth
// credentials, whatever the route: no page, asset or action is reachable
// without them.
func requireUser(users *Users, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || !users.Check(user, pass) {
			w.Header().Set("WWW-Authenticate", `Basic realm="cassette control", charset="UTF-8"`)
			http.Error(w, "401 unauthorized: sign in with a user of --http-auth-file", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// csrfField is the form field (and csrfHeader the header, for scripts)
// that carries the anti-forgery token.
const (
	csrfField  = "csrf"
	csrfHeader = "X-CSRF-Token"
)

func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return hex.EncodeToString(b)
}

// errCSRF is what a POST without the console's token gets.
var errCSRF = errors.New("403 forbidden: the form is stale or comes from another site; reload the page and submit it again")

// checkCSRF refuses state-changing requests that come from another site:
// the browser's Sec-Fetch-Site and Origin headers must say same origin
// (http.CrossOriginProtection), and the form or header must carry the
// token only the console's own pages hold.
func checkCSRF(token string, next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	tok := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		if err := cop.Check(r); err != nil {
			http.Error(w, errCSRF.Error(), http.StatusForbidden)
			return
		}
		got := r.Header.Get(csrfHeader)
		if got == "" {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			got = r.PostFormValue(csrfField)
		}
		if subtle.ConstantTimeCompare([]byte(got), tok) != 1 {
			http.Error(w, errCSRF.Error(), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// maxForm bounds a form's body: the console's forms are a few fields.
const maxForm = 64 << 10

// securityHeaders keeps pages from being framed, sniffed or from running
// anything but the console's own script.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
