# cassette — the two commands of the README's quick start are `make demo` and
# `make test`. Everything else is for developers.

GO        ?= go
BIN       := bin/cassette
PKGS      := ./...
GOFLAGS   ?=
# Fuzzing time per target for `make fuzz`.
FUZZTIME  ?= 30s

.PHONY: all build demo test test-short servers bench bench-harness fuzz lint clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/cassette
	$(GO) build -o bin/datagen ./bench/cmd/datagen

# Builds cassette, makes a small Cassandra-like data directory, backs it up to
# a local repository, simulates a compaction, backs up again, lists, restores
# and verifies byte for byte. Needs no server.
demo: build
	bash scripts/demo.sh

# Everything CI runs: vet, gofmt check, and every test with the race
# detector, including the provider conformance suites against real MinIO,
# fake-gcs-server and Azurite (installed at pinned versions into .cache/ on
# first use, started on 127.0.0.1 by the tests, stopped afterwards).
test: servers
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet $(PKGS)
	CASSETTE_REQUIRE_SERVERS=1 $(GO) test -race -timeout 20m $(PKGS)

# Quick loop without the object-store servers (their tests skip locally).
test-short:
	$(GO) test -race -short $(PKGS)

servers:
	bash scripts/install-servers.sh all

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./chunkstore/ ./index/ ./engine/

# The side-by-side bench (bench/harness): cassette against a plain
# one-object-per-file copy with the same SDK, on MinIO at 127.0.0.1, plus
# restic/kopia when on PATH. Writes bench/RESULTS.md. Extra flags:
# make bench-harness BENCHFLAGS='-size 1GiB -concurrency 4'.
BENCHFLAGS ?=
bench-harness: build
	bash scripts/install-servers.sh minio
	$(GO) run ./bench/cmd/harness -cassette $(BIN) -datagen bin/datagen $(BENCHFLAGS)

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodeSegment -fuzztime $(FUZZTIME) ./fuzz/
	$(GO) test -run '^$$' -fuzz FuzzParsePack -fuzztime $(FUZZTIME) ./fuzz/
	$(GO) test -run '^$$' -fuzz FuzzDecodeManifest -fuzztime $(FUZZTIME) ./fuzz/
	$(GO) test -run '^$$' -fuzz FuzzDecodeConfig -fuzztime $(FUZZTIME) ./fuzz/

lint:
	@test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	$(GO) vet $(PKGS)

clean:
	rm -rf bin demo
