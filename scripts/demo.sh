#!/usr/bin/env bash
# make demo: a whole backup cycle on a generated Cassandra-like node, to a
# local repository, with no server. Everything lives under ./demo.
set -euo pipefail
cd "$(dirname "$0")/.."
CASSETTE="$PWD/bin/cassette"
DATAGEN="$PWD/bin/datagen"
DEMO="$PWD/demo"
rm -rf "$DEMO"
mkdir -p "$DEMO"

cat >"$DEMO/cassette.yaml" <<YAML
# The storage section uses Mission Control's storageProperties names.
storageProperties:
  storageProvider: local
  basePath: $DEMO/buckets
  bucketName: cassandra-backups
  concurrentTransfers: 4
  maxBackupCount: 7
cassandra:
  dataDirs: [$DEMO/node1/data]
  node: node1
  snapshot: hardlink   # the node is not running: cassette hard-links the SSTables itself (nodetool on a live node)
cacheDir: $DEMO/cache
YAML
export CASSETTE_CONFIG="$DEMO/cassette.yaml"

step() { printf '\n== %s\n' "$*"; }

step "generate a Cassandra-like data directory (3 keyspaces x 4 tables x 4 SSTable generations, half LZ4-like)"
"$DATAGEN" generate "$DEMO/node1/data" --seed 42 --keyspaces 3 --tables 4 --sstables 4 --data-size 2MiB --compressed 0.5

step "cassette init"
"$CASSETTE" init

step "first backup (everything is new)"
"$CASSETTE" backup --name day1

step "simulate a day of compaction and flushes"
"$DATAGEN" compact "$DEMO/node1/data" --seed 7 --fraction 0.3

step "differential backup (only new SSTables are read and uploaded)"
"$CASSETTE" backup --name day2

step "cassette list"
"$CASSETTE" list
"$CASSETTE" list --nodes

step "restore day2 into a fresh folder"
"$CASSETTE" restore --name day2 --target "$DEMO/restore"

step "byte-for-byte comparison with the live data (snapshots/ and backups/ folders excluded)"
diff -r -x snapshots -x backups "$DEMO/node1/data" "$DEMO/restore"
echo "identical: $(find "$DEMO/restore" -type f | wc -l) files"

step "cassette verify --read-data"
"$CASSETTE" verify --read-data

step "repository on disk"
echo "$(find "$DEMO/buckets" -type f | wc -l) objects, $(du -sh "$DEMO/buckets" | cut -f1) for $(du -sh --exclude snapshots --exclude backups "$DEMO/node1/data" | cut -f1) of node data x 2 backups"
printf '\ndemo passed\n'
