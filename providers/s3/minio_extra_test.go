package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/providertest"
)

// randomData returns n incompressible bytes.
func randomData(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{byte(n), byte(n >> 8), byte(n >> 16)}).Read(b)
	return b
}

// failingReader returns data, then err instead of EOF.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// checkNothingLeft asserts key is absent and no multipart upload is pending.
func checkNothingLeft(t *testing.T, s *Storage, key providers.Key) {
	t.Helper()
	if _, err := s.Stat(context.Background(), key); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("Stat(%s) after a failed Put = %v, want ErrNotFound", key, err)
	}
	if ups := pendingUploads(t, s); len(ups) != 0 {
		t.Errorf("pending multipart uploads after a failed Put: %v", ups)
	}
}

func TestMultipartPayloadFailureLeavesNothing(t *testing.T) {
	s := openTest(t, minioProps(t, KindCompatible, ""), Options{})
	boom := errors.New("disk on fire")
	for _, size := range []int64{-1, 4 * testPart} {
		key := providers.Key(fmt.Sprintf("fail/%d", size))
		r := &failingReader{r: bytes.NewReader(randomData(2*testPart + 100)), err: boom}
		err := s.Put(t.Context(), key, providers.Stream(r, size), providers.PutOptions{})
		if !errors.Is(err, boom) {
			t.Fatalf("Put with a payload failing after 2 parts = %v, want the payload's error", err)
		}
		checkNothingLeft(t, s, key)
	}
}

// cancelAfter cancels a context once n bytes have been read through it.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= int64(n); c.n <= 0 {
		c.cancel()
	}
	return n, err
}

func TestMultipartCancelLeavesNothing(t *testing.T) {
	s := openTest(t, minioProps(t, KindCompatible, ""), Options{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r := &cancelAfter{r: bytes.NewReader(randomData(6 * testPart)), n: 2*testPart + 1, cancel: cancel}
	err := s.Put(ctx, "cancel/obj", providers.Stream(r, -1), providers.PutOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put cancelled mid-upload = %v, want context.Canceled", err)
	}
	checkNothingLeft(t, s, "cancel/obj")
}

func TestMultipartIfNotExists(t *testing.T) {
	s := openTest(t, minioProps(t, KindCompatible, "when_required"), Options{})
	data := randomData(2*testPart + 7)
	opts := providers.PutOptions{IfNotExists: true}
	if err := s.Put(t.Context(), "big", providers.Stream(bytes.NewReader(data), -1), opts); err != nil {
		t.Fatalf("first multipart create: %v", err)
	}
	err := s.Put(t.Context(), "big", providers.Stream(bytes.NewReader(randomData(3*testPart)), -1), opts)
	if !errors.Is(err, providers.ErrAlreadyExists) {
		t.Fatalf("second multipart create = %v, want ErrAlreadyExists", err)
	}
	if ups := pendingUploads(t, s); len(ups) != 0 {
		t.Errorf("pending uploads after a refused create: %v", ups)
	}
	var got []byte
	if err := s.Get(t.Context(), "big", 0, -1, func(r io.Reader) (err error) { got, err = io.ReadAll(r); return err }); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("object changed by a refused create")
	}
}

func TestCreateMakesBucketAndProbes(t *testing.T) {
	sp := minioProps(t, KindRGW, "")
	sp.BucketName = fmt.Sprintf("cassette-create-%d", time.Now().UnixNano())
	var created *Storage
	providertest.RunBucketCreation(t, sp,
		func(ctx context.Context, sp providers.StorageProperties) (providers.Storage, error) {
			return Open(ctx, sp, Options{})
		},
		func(ctx context.Context, sp providers.StorageProperties) (providers.Storage, error) {
			s, err := Create(ctx, sp, Options{Logger: testLogger(t)})
			if created == nil {
				created = s
			}
			return s, err
		})
	if !created.Properties().ConditionalCreate {
		t.Error("MinIO honours If-None-Match but the probe says it does not")
	}
	var keys []providers.Key
	if err := created.List(t.Context(), "", func(oi providers.ObjectInfo) error { keys = append(keys, oi.Key); return nil }); err != nil || len(keys) != 1 {
		t.Errorf("List after Create = %v, %v; want only the object the test wrote (the probe object was left behind?)", keys, err)
	}
}

func TestWrongKeysArePermissionErrors(t *testing.T) {
	const secret = "not-the-right-secret-91d2"
	for name, body := range map[string]string{
		"wrong secret": "[default]\naws_access_key_id = " + providertest.MinIOAccessKey + "\naws_secret_access_key = " + secret + "\n",
		"unknown key":  "[default]\naws_access_key_id = NOSUCHKEY\naws_secret_access_key = " + secret + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			sp := minioProps(t, KindCompatible, "")
			sp.CredentialsFile = filepath.Join(t.TempDir(), "credentials")
			if err := os.WriteFile(sp.CredentialsFile, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, create := range []bool{false, true} {
				open := Open
				if create {
					open = Create
				}
				_, err := open(t.Context(), sp, Options{})
				if !errors.Is(err, providers.ErrPermission) {
					t.Fatalf("Open/Create(create=%v) with bad keys = %v, want ErrPermission", create, err)
				}
				msg := err.Error()
				if strings.Contains(msg, secret) || strings.Contains(msg, providertest.MinIOSecretKey) {
					t.Fatalf("error leaks a secret: %s", msg)
				}
				if !strings.Contains(msg, sp.CredentialsFile) || !strings.Contains(msg, providertest.DefaultBucket) {
					t.Errorf("error should name the credentials file and the bucket: %s", msg)
				}
			}
		})
	}
}

func TestCredentialsFileErrors(t *testing.T) {
	const secret = "SECRET-VALUE-3c1e"
	open := func(ctx context.Context, file string) error {
		f := false
		sp := providers.StorageProperties{StorageProvider: KindCompatible, BucketName: "b", Host: "127.0.0.1", Port: 1, Secure: &f, CredentialsFile: file}
		_, err := Open(ctx, sp, Options{})
		return err
	}
	providertest.RunCredentialsFileErrors(t, open, "aws_secret_access_key", secret, []providertest.CredentialsCase{
		{Name: "colon syntax", Content: "[default]\naws_access_key_id: AKIA\naws_secret_access_key: " + secret + "\n", Want: "line 2"},
		{Name: "no default", Content: "[prod]\naws_access_key_id = AKIA\naws_secret_access_key = " + secret + "\n", Want: "no [default] section"},
		{Name: "no secret", Content: "[default]\naws_access_key_id = AKIA\n", Want: "lacks"},
		{Name: "no section", Content: "aws_access_key_id = AKIA\naws_secret_access_key = " + secret + "\n", Want: "outside any [section]"},
		{Name: "json", Content: `{"aws_secret_access_key": "` + secret + `"}`, Want: "line 1"},
	})
}

func TestAbortStaleUploads(t *testing.T) {
	now := time.Now()
	s := openTest(t, minioProps(t, KindCompatible, ""), Options{Now: func() time.Time { return now }})
	if _, err := s.createUpload(t.Context(), "stale/obj"); err != nil {
		t.Fatal(err)
	}
	if ups := pendingUploads(t, s); len(ups) != 1 {
		t.Fatalf("pending uploads after starting one = %v, want exactly it", ups)
	}
	if n, err := s.AbortStaleUploads(t.Context(), time.Hour); err != nil || n != 0 {
		t.Fatalf("AbortStaleUploads of a fresh upload = %d, %v; want 0, nil", n, err)
	}
	now = now.Add(2 * time.Hour)
	if n, err := s.AbortStaleUploads(t.Context(), time.Hour); err != nil || n != 1 {
		t.Fatalf("AbortStaleUploads of a 2h old upload = %d, %v; want 1, nil", n, err)
	}
	if ups := pendingUploads(t, s); len(ups) != 0 {
		t.Errorf("uploads left: %v", ups)
	}
}

func TestStatsCountRequests(t *testing.T) {
	s := openTest(t, minioProps(t, KindCompatible, ""), Options{})
	base := s.Stats()
	data := randomData(2*testPart + 10)
	if err := s.Put(t.Context(), "stats/obj", providers.Stream(bytes.NewReader(data), -1), providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Get(t.Context(), "stats/obj", 10, 100, func(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err }); err != nil {
		t.Fatal(err)
	}
	got := s.Stats()
	want := providers.Stats{Puts: 3, Gets: 1, Others: 2, BytesUp: int64(len(data)), BytesDown: 100}
	got.Heads, got.Lists, got.Deletes = 0, 0, 0
	got.Puts -= base.Puts
	got.Others -= base.Others
	if got != want {
		t.Errorf("Stats after a 3-part Put and a 100-byte Get = %+v, want %+v", got, want)
	}
}
