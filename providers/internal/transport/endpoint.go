package transport

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/cassette-backup/cassette/providers"
)

// BaseURL is the endpoint override host, port and secure ask for, as
// "http[s]://host[:port]", or "" when host is unset (the service's default
// endpoint). host must be a host name or address, not a URL.
func BaseURL(sp providers.StorageProperties, name string) (string, error) {
	if sp.Host == "" {
		if sp.Port != 0 {
			return "", fmt.Errorf("%s: port is set but host is not; set both to override the endpoint", name)
		}
		return "", nil
	}
	if strings.Contains(sp.Host, "/") {
		return "", fmt.Errorf("%s: host %q must be a host name or address, not a URL (use secure: false for http)", name, sp.Host)
	}
	scheme := "https"
	if !sp.IsSecure() {
		scheme = "http"
	}
	hostPort := sp.Host
	if sp.Port != 0 {
		hostPort = net.JoinHostPort(sp.Host, strconv.Itoa(sp.Port))
	}
	return scheme + "://" + hostPort, nil
}

// WarnPlainHTTP logs a warning when secure: false sends requests to
// another machine unencrypted.
func WarnPlainHTTP(log *slog.Logger, sp providers.StorageProperties) {
	if sp.Host != "" && !sp.IsSecure() && !IsLoopback(sp.Host) {
		log.Warn("secure is false: requests to the storage endpoint are sent unencrypted", "host", sp.Host)
	}
}

// IsLoopback reports whether host names this machine.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RootPrefix turns the configured prefix into the prefix of object names:
// "a/b/" for "/a/b/", "" for none.
func RootPrefix(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return p + "/"
}
