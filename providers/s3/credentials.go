package s3

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cassette-backup/cassette/providers/internal/credfile"
)

// credentialsFormat is how error messages describe what credentialsFile
// must hold.
const credentialsFormat = "an AWS credentials INI file: a [default] section with " +
	"aws_access_key_id = ... and aws_secret_access_key = ... (optionally aws_session_token = ...)"

// readCredentialsFile reads the [default] profile of an AWS INI credentials
// file, the format Mission Control's storageSecretRef holds. Errors are
// *credfile.Error: they name the file and the format, never a value.
func readCredentialsFile(file string) (aws.CredentialsProvider, error) {
	bad := func(problem string) error {
		return &credfile.Error{Backend: "s3", File: file, Problem: problem, Format: credentialsFormat}
	}
	data, err := credfile.Read("s3", file, credentialsFormat)
	if err != nil {
		return nil, err
	}
	prof, err := parseINIProfile(data, "default")
	if err != nil {
		return nil, bad(err.Error())
	}
	id, secret := prof["aws_access_key_id"], prof["aws_secret_access_key"]
	switch {
	case prof == nil:
		return nil, bad("no [default] section")
	case id == "" || secret == "":
		return nil, bad("the [default] section lacks aws_access_key_id or aws_secret_access_key")
	}
	return credentials.NewStaticCredentialsProvider(id, secret, prof["aws_session_token"]), nil
}

// parseINIProfile returns the keys (lower-cased) of one section of an INI
// file, or nil when the section is absent. "[profile NAME]" (the AWS config
// file spelling) names the same section. Errors name line numbers only, so
// a secret on a malformed line is never repeated.
func parseINIProfile(data []byte, want string) (map[string]string, error) {
	var (
		section string
		out     map[string]string
		inAny   bool
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: unterminated [section]", n)
			}
			section = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line[1:len(line)-1]), "profile "))
			inAny = true
			if section == want && out == nil {
				out = map[string]string{}
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d is neither [section], key = value nor a comment", n)
		}
		if !inAny {
			return nil, fmt.Errorf("line %d: key outside any [section]", n)
		}
		if section == want {
			out[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("unreadable: %v", err)
	}
	return out, nil
}

// defaultChain is the SDK's default credential chain (environment, shared
// config, container and instance roles), used when no credentials file is
// configured.
func defaultChain(ctx context.Context) (aws.CredentialsProvider, string, string, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, "", "", fmt.Errorf("s3: load the default AWS configuration (no credentialsFile set): %w", err)
	}
	return cfg.Credentials, cfg.Region, "the default credential chain (AWS_* environment, ~/.aws, instance role)", nil
}
