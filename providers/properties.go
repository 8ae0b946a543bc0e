package providers

import (
	"fmt"
	"log/slog"
)

// StorageProperties is the storage section of cassette's configuration, named
// as Mission Control's storageProperties (and mapped from medusa.ini's
// [storage] keys). It is backend-neutral; each backend reads the fields it
// understands and providers/all dispatches on StorageProvider.
type StorageProperties struct {
	// StorageProvider: local, mem, s3, s3_compatible, s3_rgw,
	// google_storage, azure_blobs.
	StorageProvider string `yaml:"storageProvider" json:"storageProvider"`
	// BucketName is the bucket (Azure: the container; local: a folder under
	// BasePath).
	BucketName string `yaml:"bucketName" json:"bucketName"`
	// Prefix separates several clusters or repositories in one bucket.
	Prefix string `yaml:"prefix" json:"prefix"`
	// Host, Port and Secure address an S3-compatible server or override the
	// GCS / Azure endpoint (emulators, private endpoints).
	Host   string `yaml:"host" json:"host"`
	Port   int    `yaml:"port" json:"port"`
	Secure *bool  `yaml:"secure" json:"secure"`
	// SSLVerify=false skips TLS certificate verification (medusa's
	// ssl_verify); CABundle names a PEM file of extra trusted CAs.
	SSLVerify *bool  `yaml:"sslVerify" json:"sslVerify"`
	CABundle  string `yaml:"caBundle" json:"caBundle"`
	Region    string `yaml:"region" json:"region"`
	// CredentialsFile is the mounted storageSecretRef secret: the AWS INI
	// credentials file, the GCS service-account JSON, or the Azure JSON
	// {"storage_account": ..., "key": ...}.
	CredentialsFile string `yaml:"credentialsFile" json:"credentialsFile"`
	// ConcurrentTransfers bounds the uploads, parts and downloads in flight.
	ConcurrentTransfers int `yaml:"concurrentTransfers" json:"concurrentTransfers"`
	// MultipartPartSize is the part size of multipart uploads in bytes.
	MultipartPartSize int64 `yaml:"multipartPartSize" json:"multipartPartSize"`
	// ListPageSize forces small list pages (tests); 0 keeps the backend's.
	ListPageSize int `yaml:"listPageSize" json:"listPageSize"`
	// StorageClass, KMSID and SSECKey are S3 server-side settings.
	StorageClass string `yaml:"storageClass" json:"storageClass"`
	KMSID        string `yaml:"kmsId" json:"kmsId"`
	SSECKey      Secret `yaml:"sseCKey" json:"sseCKey"`
	// RequestChecksum selects the S3 SDK's checksum behaviour:
	// "when_supported" (SDK default) or "when_required" (older Ceph RGW and
	// other S3-compatible servers that reject aws-chunked checksums).
	RequestChecksum string `yaml:"requestChecksum" json:"requestChecksum"`
	// BasePath is the folder holding local buckets (storageProvider local).
	BasePath string `yaml:"basePath" json:"basePath"`
	// MaxBackupAge (days, 0 = off) and MaxBackupCount (0 = off) drive purge.
	MaxBackupAge   int `yaml:"maxBackupAge" json:"maxBackupAge"`
	MaxBackupCount int `yaml:"maxBackupCount" json:"maxBackupCount"`
	// BackupGracePeriodInDays: incomplete backups older than this are purged.
	BackupGracePeriodInDays int `yaml:"backupGracePeriodInDays" json:"backupGracePeriodInDays"`
}

// IsSecure reports whether the endpoint uses TLS (default true).
func (sp StorageProperties) IsSecure() bool { return sp.Secure == nil || *sp.Secure }

// VerifyTLS reports whether TLS certificates are verified (default true).
func (sp StorageProperties) VerifyTLS() bool { return sp.SSLVerify == nil || *sp.SSLVerify }

// Transfers is ConcurrentTransfers with its default applied.
func (sp StorageProperties) Transfers() int {
	if sp.ConcurrentTransfers <= 0 {
		return 4
	}
	return sp.ConcurrentTransfers
}

// Secret holds a credential. It prints as [redacted] in every format, log
// attribute and error, so a secret cannot leak by accident.
type Secret string

// Reveal returns the secret's value, for handing to an SDK and nothing else.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string { return "[redacted]" }

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return "[redacted]" }

// Format covers %v, %s, %q, %x and friends.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("[redacted]")) }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// MarshalText keeps encoders (JSON, YAML output) from printing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// UnmarshalText reads the value (config files may carry it).
func (s *Secret) UnmarshalText(b []byte) error { *s = Secret(b); return nil }
