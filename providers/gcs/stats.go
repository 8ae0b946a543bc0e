package gcs

import (
	"net/http"
	"strings"

	"github.com/cassette-backup/cassette/providers"
)

// requestKind sorts a JSON API request into the Stats kinds: uploads
// (POST, PUT, PATCH) are Puts, object listings Lists, deletes Deletes and
// the rest (reads, metadata lookups) Gets.
func requestKind(req *http.Request) providers.RequestKind {
	switch {
	case req.Method == http.MethodDelete:
		return providers.RequestDelete
	case req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch:
		return providers.RequestPut
	case strings.HasSuffix(req.URL.Path, "/o"): // GET /storage/v1/b/<bucket>/o
		return providers.RequestList
	}
	return providers.RequestGet
}
