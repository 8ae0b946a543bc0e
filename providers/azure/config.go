package azure

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/internal/credfile"
	"github.com/cassette-backup/cassette/providers/internal/transport"
)

// credentialsFormat is how error messages describe what credentialsFile
// must hold.
const credentialsFormat = `a JSON file {"storage_account": "<account name>", "key": "<account key>"}`

// accountCredentials is the Azure credentials file.
type accountCredentials struct {
	StorageAccount string           `json:"storage_account"`
	Key            providers.Secret `json:"key"`
}

// readCredentials reads and checks the credentials JSON at path. Errors
// name the file and the expected format, never a value from the file.
func readCredentials(path string) (accountCredentials, error) {
	var ac accountCredentials
	bad := func(why string) error {
		return &credfile.Error{Backend: "azure", File: path, Problem: why, Format: credentialsFormat}
	}
	if path == "" {
		return ac, errors.New("azure: credentialsFile is not set; it must name " + credentialsFormat)
	}
	data, err := credfile.Read("azure", path, credentialsFormat)
	if err != nil {
		return ac, err
	}
	if err := credfile.DecodeJSON("azure", path, credentialsFormat, data, &ac); err != nil {
		return ac, err
	}
	var missing []string
	if strings.TrimSpace(ac.StorageAccount) == "" {
		missing = append(missing, "storage_account")
	}
	if strings.TrimSpace(ac.Key.Reveal()) == "" {
		missing = append(missing, "key")
	}
	if len(missing) > 0 {
		return ac, bad("missing " + strings.Join(missing, ", "))
	}
	if _, err := base64.StdEncoding.DecodeString(ac.Key.Reveal()); err != nil {
		return ac, bad("key is not a base64 account key")
	}
	if strings.ContainsAny(ac.StorageAccount, "/.:@ ") {
		return ac, bad("storage_account must be the account name alone, not a URL or host name")
	}
	return ac, nil
}

// serviceURL is the blob service URL of account, ending in '/':
// https://<account>.blob.core.windows.net/ by default. host, port and secure
// override it: a host starting with "<account>." is used as it is (a
// private or sovereign-cloud endpoint), any other host path-style with the
// account as first path segment, as Azurite expects.
func serviceURL(sp providers.StorageProperties, account string) (string, error) {
	base, err := transport.BaseURL(sp, "azure")
	switch {
	case err != nil:
		return "", err
	case base == "":
		return "https://" + account + ".blob.core.windows.net/", nil
	case strings.HasPrefix(strings.ToLower(sp.Host), strings.ToLower(account)+"."):
		return base + "/", nil
	}
	return base + "/" + account + "/", nil
}
