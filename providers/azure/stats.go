package azure

import (
	"net/http"

	"github.com/cassette-backup/cassette/providers"
)

// requestKind sorts a Blob service request into the Stats kinds: deletes
// and blob batches are Deletes, PUT and POST Puts, listings Lists and the
// rest (reads, property lookups) Gets.
func requestKind(req *http.Request) providers.RequestKind {
	comp := req.URL.Query().Get("comp")
	switch {
	case req.Method == http.MethodDelete, comp == "batch":
		return providers.RequestDelete
	case req.Method == http.MethodPut || req.Method == http.MethodPost:
		return providers.RequestPut
	case comp == "list":
		return providers.RequestList
	}
	return providers.RequestGet
}
