// Package fuzz holds the fuzz targets over every decoder that reads bytes
// from a repository (pack trailers, index segments, manifests, the repository
// config). Seed corpora live in testdata/fuzz/<target>/ and replay in every
// `go test`; `make fuzz` explores further. The property: no input panics,
// and whatever decodes re-encodes to something that decodes the same.
package fuzz
