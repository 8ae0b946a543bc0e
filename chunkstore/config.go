package chunkstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/restic/chunker"

	"github.com/cassette-backup/cassette/index"
	"github.com/cassette-backup/cassette/providers"
)

// FormatVersion is the repository format this cassette writes and the newest
// it reads. A repository whose config names a newer version is refused.
const FormatVersion = 1

// Config is the repository's config object, written once by Init with a
// create-if-absent put and never changed.
type Config struct {
	// Version is the repository format version.
	Version int `json:"version"`
	// ID identifies the repository (random, 64 hex digits).
	ID string `json:"id"`
	// ChunkerPolynomial is this repository's random irreducible Rabin
	// polynomial (hex). A per-repository polynomial keeps chunk boundaries
	// from leaking file content across repositories.
	ChunkerPolynomial string `json:"chunkerPolynomial"`
	// MinChunkSize, MaxChunkSize bound chunk lengths; AverageChunkBits sets
	// the expected chunk size to 2^bits.
	MinChunkSize     uint `json:"minChunkSize"`
	MaxChunkSize     uint `json:"maxChunkSize"`
	AverageChunkBits int  `json:"averageChunkBits"`
	// Compression is "zstd" (blobs that do not shrink are stored raw) or
	// "none".
	Compression string `json:"compression"`
	// PackSize is the target size of pack objects in bytes.
	PackSize int64 `json:"packSize"`
	// Created is when init ran.
	Created time.Time `json:"created"`
}

// Defaults for new repositories.
const (
	DefaultMinChunk     = 512 << 10
	DefaultMaxChunk     = 8 << 20
	DefaultAverageBits  = 20 // 1 MiB average chunk
	DefaultPackSize     = 32 << 20
	minPackSize         = 64 << 10
	maxPackSize         = 1 << 30
	maxConfigObjectSize = 64 << 10
)

// InitOptions customise a new repository; zero values take the defaults.
type InitOptions struct {
	MinChunkSize, MaxChunkSize uint
	AverageChunkBits           int
	PackSize                   int64
	Compression                string
	Now                        func() time.Time
}

func (o InitOptions) config() (Config, error) {
	pol, err := chunker.RandomPolynomial()
	if err != nil {
		return Config{}, fmt.Errorf("choose chunker polynomial: %w", err)
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	c := Config{
		Version: FormatVersion, ID: index.RandomID().String(),
		ChunkerPolynomial: strconv.FormatUint(uint64(pol), 16),
		MinChunkSize:      orDefault(o.MinChunkSize, DefaultMinChunk),
		MaxChunkSize:      orDefault(o.MaxChunkSize, DefaultMaxChunk),
		AverageChunkBits:  orDefault(o.AverageChunkBits, DefaultAverageBits),
		Compression:       orDefault(o.Compression, "zstd"),
		PackSize:          orDefault(o.PackSize, DefaultPackSize),
		Created:           now().UTC(),
	}
	return c, c.Validate()
}

func orDefault[T comparable](v, d T) T {
	var zero T
	if v == zero {
		return d
	}
	return v
}

// Polynomial parses ChunkerPolynomial.
func (c Config) Polynomial() (chunker.Pol, error) {
	v, err := strconv.ParseUint(c.ChunkerPolynomial, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("chunker polynomial %q: %w", c.ChunkerPolynomial, err)
	}
	p := chunker.Pol(v)
	if !p.Irreducible() {
		return 0, fmt.Errorf("chunker polynomial %q is not irreducible", c.ChunkerPolynomial)
	}
	return p, nil
}

// Validate checks every field; a repository config that fails is refused.
func (c Config) Validate() error {
	switch {
	case c.Version < 1:
		return fmt.Errorf("format version %d is invalid", c.Version)
	case c.Version > FormatVersion:
		return fmt.Errorf("%w: the repository is format version %d, this cassette reads up to %d: upgrade cassette", ErrNewerFormat, c.Version, FormatVersion)
	case len(c.ID) != 64:
		return fmt.Errorf("repository id %q is not 64 hex digits", c.ID)
	case c.MinChunkSize < 1<<10 || c.MaxChunkSize > 64<<20 || c.MinChunkSize >= c.MaxChunkSize:
		return fmt.Errorf("chunk size bounds [%d, %d] are invalid", c.MinChunkSize, c.MaxChunkSize)
	case c.AverageChunkBits < 10 || c.AverageChunkBits > 24:
		return fmt.Errorf("average chunk bits %d outside [10, 24]", c.AverageChunkBits)
	case c.Compression != "zstd" && c.Compression != "none":
		return fmt.Errorf("compression %q: want zstd or none", c.Compression)
	case c.PackSize < minPackSize || c.PackSize > maxPackSize:
		return fmt.Errorf("pack size %d outside [%d, %d]", c.PackSize, minPackSize, maxPackSize)
	}
	_, err := c.Polynomial()
	return err
}

// DecodeConfig parses and validates a config object.
func DecodeConfig(b []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("decode repository config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("repository config: %w", err)
	}
	return c, nil
}

func writeConfig(ctx context.Context, st providers.Storage, c Config) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	err = st.Put(ctx, ConfigKey, providers.Bytes(append(b, '\n')), providers.PutOptions{IfNotExists: true})
	if errors.Is(err, providers.ErrNotSupported) {
		// Servers without conditional create: check, then write. Racy
		// between two simultaneous inits only; documented in format.md.
		if _, serr := st.Stat(ctx, ConfigKey); serr == nil {
			return ErrRepositoryExists
		}
		err = st.Put(ctx, ConfigKey, providers.Bytes(append(b, '\n')), providers.PutOptions{})
	}
	if errors.Is(err, providers.ErrAlreadyExists) {
		return ErrRepositoryExists
	}
	return err
}

func readConfig(ctx context.Context, st providers.Storage) (Config, error) {
	var b []byte
	err := st.Get(ctx, ConfigKey, 0, -1, func(r io.Reader) error {
		var err error
		b, err = io.ReadAll(io.LimitReader(r, maxConfigObjectSize+1))
		return err
	})
	if errors.Is(err, providers.ErrNotFound) {
		return Config{}, fmt.Errorf("%w (%s has no %q object): run `cassette init` first or check bucketName/prefix", ErrNoRepository, st.Properties().Name, ConfigKey)
	}
	if err != nil {
		return Config{}, fmt.Errorf("read repository config: %w", err)
	}
	if len(b) > maxConfigObjectSize {
		return Config{}, fmt.Errorf("repository config object is larger than %d bytes: not a cassette repository", maxConfigObjectSize)
	}
	return DecodeConfig(b)
}
