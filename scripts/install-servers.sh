#!/usr/bin/env bash
# Installs the object-store servers the provider tests run against, and the
# gRPC health probe the `cassette serve` tests run, at pinned versions, into
# the git-ignored .cache/servers folder of the repository:
#
#   .cache/servers/bin/minio             (go install)
#   .cache/servers/bin/fake-gcs-server   (go install)
#   .cache/servers/bin/azurite-blob      (npm, linked from .cache/servers/azurite)
#   .cache/servers/bin/grpc-health-probe (go install; the operator's grpc_health_probe)
#
# Usage: scripts/install-servers.sh [all | minio | fake_gcs | azurite | grpc-health-probe ...]
# Each install is skipped when the pinned version is already present.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVERS="$ROOT/.cache/servers"
BIN="$SERVERS/bin"

MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
FAKE_GCS_VERSION="v1.56.1"
AZURITE_VERSION="3.37.0"
GRPC_HEALTH_PROBE_VERSION="v0.4.62"

log() { printf 'install-servers: %s\n' "$*" >&2; }

# install_minio installs the MinIO server (the S3-compatible test server)
# with go install. MinIO is large: the first build takes several minutes.
install_minio() {
	local stamp="$BIN/.minio.version"
	if [[ -x "$BIN/minio" && "$(cat "$stamp" 2>/dev/null)" == "$MINIO_VERSION" ]]; then
		log "minio $MINIO_VERSION already installed"
		return 0
	fi
	mkdir -p "$BIN"
	log "installing minio $MINIO_VERSION (a large build; this takes minutes)"
	# Outside the repo so cassette's go.mod does not steer the install.
	(cd "$SERVERS" && GOBIN="$BIN" go install "github.com/minio/minio@$MINIO_VERSION")
	echo "$MINIO_VERSION" >"$stamp"
}

# install_fake_gcs installs fake-gcs-server (the GCS emulator) with go install.
install_fake_gcs() {
	local stamp="$BIN/.fake-gcs-server.version"
	if [[ -x "$BIN/fake-gcs-server" && "$(cat "$stamp" 2>/dev/null)" == "$FAKE_GCS_VERSION" ]]; then
		log "fake-gcs-server $FAKE_GCS_VERSION already installed"
		return 0
	fi
	mkdir -p "$BIN"
	log "installing fake-gcs-server $FAKE_GCS_VERSION"
	# Outside the repo so cassette's go.mod does not steer the install.
	(cd "$SERVERS" && GOBIN="$BIN" go install "github.com/fsouza/fake-gcs-server@$FAKE_GCS_VERSION")
	echo "$FAKE_GCS_VERSION" >"$stamp"
}

# install_azurite installs Azurite (the Azure Storage emulator) with npm and
# links its blob-only server into bin.
install_azurite() {
	local dir="$SERVERS/azurite"
	local stamp="$BIN/.azurite.version"
	if [[ -x "$BIN/azurite-blob" && "$(cat "$stamp" 2>/dev/null)" == "$AZURITE_VERSION" ]]; then
		log "azurite $AZURITE_VERSION already installed"
		return 0
	fi
	if ! command -v npm >/dev/null 2>&1; then
		log "npm not found: install Node.js (>= 18) and npm first"
		return 1
	fi
	mkdir -p "$dir" "$BIN"
	log "installing azurite $AZURITE_VERSION"
	npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION"
	ln -sf "../azurite/node_modules/.bin/azurite-blob" "$BIN/azurite-blob"
	ln -sf "../azurite/node_modules/.bin/azurite" "$BIN/azurite"
	echo "$AZURITE_VERSION" >"$stamp"
}

# install_grpc_health_probe installs grpc-health-probe, the probe
# k8ssandra-operator runs against the Medusa container, with go install.
install_grpc_health_probe() {
	local stamp="$BIN/.grpc-health-probe.version"
	if [[ -x "$BIN/grpc-health-probe" && "$(cat "$stamp" 2>/dev/null)" == "$GRPC_HEALTH_PROBE_VERSION" ]]; then
		log "grpc-health-probe $GRPC_HEALTH_PROBE_VERSION already installed"
		return 0
	fi
	mkdir -p "$BIN"
	log "installing grpc-health-probe $GRPC_HEALTH_PROBE_VERSION"
	# Outside the repo so cassette's go.mod does not steer the install.
	(cd "$SERVERS" && GOBIN="$BIN" go install "github.com/grpc-ecosystem/grpc-health-probe@$GRPC_HEALTH_PROBE_VERSION")
	echo "$GRPC_HEALTH_PROBE_VERSION" >"$stamp"
}

main() {
	local names=("$@")
	if [[ ${#names[@]} -eq 0 || "${names[0]}" == "all" ]]; then
		names=(minio fake_gcs azurite grpc-health-probe)
	fi
	local failed=0
	for n in "${names[@]}"; do
		case "$n" in
		minio) install_minio || failed=1 ;;
		fake_gcs | fake-gcs | fake-gcs-server | gcs) install_fake_gcs || failed=1 ;;
		azurite | azure) install_azurite || failed=1 ;;
		grpc-health-probe | grpc_health_probe | probe) install_grpc_health_probe || failed=1 ;;
		*)
			log "unknown server $n (known: minio fake_gcs azurite grpc-health-probe all)"
			failed=1
			;;
		esac
	done
	return "$failed"
}

main "$@"
