# cassette — the two commands of the README's quick start are `make demo` and
# `make test`. Everything else is for developers.

GO        ?= go
BIN       := bin/cassette
PKGS      := ./...
GOFLAGS   ?=
# Fuzzing time per target for `make fuzz`.
FUZZTIME  ?= 30s

.PHONY: all build demo test test-short servers browser bench bench-harness bench-full fuzz lint clean proto bench-purge

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
# first use, started on 127.0.0.1 by the tests, stopped afterwards), and the
# web console's tests in headless Chromium (Debian's package, installed once).
test: servers browser
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet $(PKGS)
	CASSETTE_REQUIRE_SERVERS=1 $(GO) test -race -timeout 20m $(PKGS)

# Quick loop without the object-store servers (their tests skip locally).
test-short:
	$(GO) test -race -short $(PKGS)

# The object-store servers and grpc-health-probe (the operator's probe of
# `cassette serve`), all pinned, into .cache/servers/bin.
servers:
	bash scripts/install-servers.sh all

# Debian's chromium, which the browser tests (cmd/internal/browsertest) drive;
# apt-get installs it when /usr/bin/chromium is missing (as root, or with
# sudo). CASSETTE_CHROMIUM=/path/to/chromium uses another browser instead.
browser:
	bash scripts/install-chromium.sh

# The bench (bench/harness, issue 7): cassette side by side with a
# Medusa-style one-object-per-file copy (same SDK, same concurrency) and with
# restic and kopia when they are on PATH or in .cache/peers/bin, on MinIO at
# 127.0.0.1 and the local provider: first backup, differential, unchanged,
# replica, restore, purge. Writes bench/RESULTS.md and bench/results.svg.
#   make bench          the quick run (512 MiB datasets, 10,000 small files,
#                       restores repeated 3 times; about 5 minutes on two
#                       cores), then the Go micro-benchmarks of the hot paths
#   make bench-harness  the quick run alone
#   make bench-full     4 GiB and 2 GiB datasets, 20,000 small files; takes
#                       30 minutes or more and about 40 GiB of free disk;
#                       writes bench/RESULTS-full.md and bench/results-full.svg
# Extra flags: make bench BENCHFLAGS='-install-peers' builds restic and kopia
# into .cache/peers/bin once (a few minutes); '-steps throughput,churn',
# '-concurrency 4', '-repeat 1', '-keep' (see go run ./bench/cmd/harness -h).
BENCHFLAGS ?=
HARNESS    := $(GO) run ./bench/cmd/harness -cassette $(BIN) -datagen bin/datagen
bench: bench-harness
	$(GO) test -run '^$$' -bench . -benchmem ./chunkstore/ ./index/ ./engine/

bench-harness: build
	bash scripts/install-servers.sh minio
	$(HARNESS) $(BENCHFLAGS)

bench-full: build
	bash scripts/install-servers.sh minio
	$(HARNESS) -size 4GiB -churn-size 2GiB -files 20000 -repeat 1 -step-timeout 30m -timeout 4h \
		-results bench/RESULTS-full.md -chart bench/results-full.svg $(BENCHFLAGS)

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

# Regenerates the Go code of the Medusa gRPC service (cmd/internal/medusapb)
# from medusa.proto, and of cassette's NodeRestore extension
# (cmd/internal/restorepb) from restore.proto. Needs protoc (Debian: apt-get install protobuf-compiler);
# the two Go plugins are built at pinned versions into .cache/proto/bin
# (protoc-gen-go at go.mod's google.golang.org/protobuf version). The output
# is committed; running this again must leave `git status` clean.
PROTOC                     ?= protoc
PROTO_DIR                  := cmd/internal/medusapb
PROTO_GO_PACKAGE           := github.com/cassette-backup/cassette/$(PROTO_DIR)
PROTO_BIN                  := $(CURDIR)/.cache/proto/bin
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
RESTORE_PROTO_DIR          := cmd/internal/restorepb
proto:
	@command -v $(PROTOC) >/dev/null 2>&1 || { echo "protoc not found: install it (Debian: apt-get install protobuf-compiler) or set PROTOC=/path/to/protoc"; exit 1; }
	mkdir -p $(PROTO_BIN)
	GOBIN=$(PROTO_BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go
	cd $(dir $(PROTO_BIN)) && GOBIN=$(PROTO_BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	$(PROTOC) -I $(PROTO_DIR) \
		--plugin=protoc-gen-go=$(PROTO_BIN)/protoc-gen-go --plugin=protoc-gen-go-grpc=$(PROTO_BIN)/protoc-gen-go-grpc \
		--go_out=$(PROTO_DIR) --go_opt=paths=source_relative --go_opt=Mmedusa.proto=$(PROTO_GO_PACKAGE) \
		--go-grpc_out=$(PROTO_DIR) --go-grpc_opt=paths=source_relative --go-grpc_opt=Mmedusa.proto=$(PROTO_GO_PACKAGE) \
		medusa.proto
	$(PROTOC) -I $(RESTORE_PROTO_DIR) \
		--plugin=protoc-gen-go=$(PROTO_BIN)/protoc-gen-go --plugin=protoc-gen-go-grpc=$(PROTO_BIN)/protoc-gen-go-grpc \
		--go_out=$(RESTORE_PROTO_DIR) --go_opt=paths=source_relative \
		--go-grpc_out=$(RESTORE_PROTO_DIR) --go-grpc_opt=paths=source_relative \
		restore.proto

# Purge at scale (bench/cmd/purgebench): builds 1,000 backups x 3 nodes over
# about 100,000 small packs in MinIO at 127.0.0.1 (in cassette's formats, in
# a few minutes), runs `cassette purge` on it behind a counting proxy (wall
# time, requests by type, peak memory), verifies and restores what is left,
# and times Medusa-style one-by-one deletes on a sample. Writes
# bench/PURGE-RESULTS.md; about six minutes on two cores. Extra flags:
# make bench-purge PURGEFLAGS='-backups 200 -packs 20000 -max-backup-count 20'.
PURGEFLAGS ?=
bench-purge: build
	bash scripts/install-servers.sh minio
	$(GO) run ./bench/cmd/purgebench -cassette $(BIN) $(PURGEFLAGS)
