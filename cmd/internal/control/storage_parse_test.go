package control

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestParseStorageConfigurationsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	doc := `storageConfigurations:
  - name: minio
    storageProperties:
      storageProvider: s3_compatible
      bucketName: medusa-backups
      prefix: demo
      host: minio.example
      port: "9000"
      secure: "False"
      maxBackupCount: 3
      credentialsFile: creds/minio.ini
      storageSecretRef: {name: medusa-bucket-key}
`
	got, err := ParseStorageConfigurations("console.yaml", dir, []byte(doc))
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	sc := got[0]
	sp := sc.Properties
	if sp.Port != 9000 || sp.IsSecure() || sp.MaxBackupCount != 3 || sc.SecretRef != "medusa-bucket-key" || sp.CredentialsFile != filepath.Join(dir, "creds/minio.ini") {
		t.Fatalf("%+v", sc)
	}
	out, err := yaml.Marshal(map[string]any{"storageConfigurations": []any{sc.InventoryItem()}})
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseStorageConfigurations("console.yaml", "/elsewhere", out)
	if err != nil || len(again) != 1 || !reflect.DeepEqual(again[0], sc) {
		t.Fatalf("round trip:\n%s\n%+v\n%+v %v", out, again, sc, err)
	}
	if got, err := ParseStorageConfigurations("console.yaml", dir, nil); got != nil || err != nil {
		t.Fatalf("empty: %v %v", got, err)
	}
}

func TestParseStorageConfigurationsErrorsNameTheKey(t *testing.T) {
	for _, c := range []struct{ doc, key, msg string }{
		{"storageConfigurations:\n  - name: a\n    storageProperties: {storageProvider: s3}\n", "storageConfigurations[0].storageProperties.bucketName", "is not set"},
		{"storageConfigurations:\n  - name: a\n    storageProperties: {storageProvider: s4, bucketName: b}\n", "storageConfigurations[0].storageProperties.storageProvider", "did you mean"},
		{"storageConfigurations:\n  - name: a\n    storageProperties: {storageProvider: s3, bucketName: b, port: x}\n", "storageConfigurations[0].storageProperties.port", "whole number"},
		{"storageConfigurations:\n  - name: a\n    storageProperties: {storageProvider: s3, bucketName: b, sseCKey: k}\n", "storageConfigurations[0].storageProperties.sseCKey", "holds a secret"},
		{"storageConfigurations:\n  - name: 'a b'\n    storageProperties: {storageProvider: s3, bucketName: b}\n", "storageConfigurations[0].name", "not a valid name"},
		{"clusters: []\n", "clusters", "unknown key"},
	} {
		_, err := ParseStorageConfigurations("console.yaml", "", []byte(c.doc))
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) || e.Key != c.key || !strings.Contains(e.Msg, c.msg) {
			t.Errorf("%q: %v (key %q)", c.doc, err, keyOf(e))
		}
	}
}

func keyOf(e *Error) string {
	if e == nil {
		return ""
	}
	return e.Key
}
