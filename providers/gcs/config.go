package gcs

import (
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/internal/credfile"
	"github.com/cassette-backup/cassette/providers/internal/transport"
)

// credentialsFormat is how error messages describe what credentialsFile
// must hold.
const credentialsFormat = `a Google service-account JSON key file ({"type": "service_account", "client_email": ..., "private_key": ...})`

// serviceAccount is the part of a service-account key file cassette checks
// before handing the whole file to the Google auth library.
type serviceAccount struct {
	Type         string `json:"type"`
	ProjectID    string `json:"project_id"`
	ClientEmail  string `json:"client_email"`
	PrivateKey   string `json:"private_key"`
	PrivateKeyID string `json:"private_key_id"`
}

// readCredentials reads and checks the service-account JSON at path. It
// returns the raw file for the auth library and the parsed fields. Errors
// name the file and the expected format, never a value from the file.
func readCredentials(path string) ([]byte, serviceAccount, error) {
	var sa serviceAccount
	bad := func(why string) error {
		return &credfile.Error{Backend: "gcs", File: path, Problem: why, Format: credentialsFormat}
	}
	data, err := credfile.Read("gcs", path, credentialsFormat)
	if err != nil {
		return nil, sa, err
	}
	if err := credfile.DecodeJSON("gcs", path, credentialsFormat, data, &sa); err != nil {
		return nil, sa, err
	}
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"type", sa.Type}, {"client_email", sa.ClientEmail}, {"private_key", sa.PrivateKey},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	switch {
	case len(missing) > 0:
		return nil, sa, bad("missing " + strings.Join(missing, ", "))
	case sa.Type != "service_account":
		return nil, sa, bad(fmt.Sprintf("type is %q, not \"service_account\"", sa.Type))
	}
	if blk, _ := pem.Decode([]byte(sa.PrivateKey)); blk == nil {
		return nil, sa, bad("private_key is not a PEM-encoded key")
	}
	return data, sa, nil
}

// endpoint returns the JSON API endpoint override from host/port/secure,
// or "" for Google's default endpoint.
func endpoint(sp providers.StorageProperties) (string, error) {
	base, err := transport.BaseURL(sp, "gcs")
	if base == "" || err != nil {
		return "", err
	}
	return base + "/storage/v1/", nil
}
