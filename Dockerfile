# syntax=docker/dockerfile:1
#
# The cassette sidecar image: a drop-in for the Medusa container that
# k8ssandra-operator (and Mission Control) put in every Cassandra pod. The
# operator runs it twice: as the `medusa` container with MEDUSA_MODE=GRPC
# (`cassette serve`: the Medusa gRPC service on 50051) and as the
# `medusa-restore` init container with MEDUSA_MODE=RESTORE. See README.md,
# "Kubernetes sidecar".
#
#   docker build -t registry.example.com/cassette:dev --build-arg VERSION=dev .

ARG GO_VERSION=1.26
# nodetool (and cqlsh, for the schema) come from Cassandra's own image: the
# sidecar snapshots the node over JMX on 127.0.0.1:7199, and the restore
# init container asks nodetool whether Cassandra is up before it writes into
# the data directory. Pick the release your cluster runs.
ARG CASSANDRA_IMAGE=cassandra:4.1

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/cassette ./cmd/cassette
# The operator's liveness and readiness probe: /bin/grpc_health_probe --addr=:50051
RUN cd / && CGO_ENABLED=0 GOBIN=/out go install github.com/grpc-ecosystem/grpc-health-probe@v0.4.62 \
    && mv /out/grpc-health-probe /out/grpc_health_probe

FROM ${CASSANDRA_IMAGE}
COPY --from=build /out/cassette /usr/local/bin/cassette
COPY --from=build /out/grpc_health_probe /bin/grpc_health_probe
# medusa.ini is read from /etc/medusa/medusa.ini (mounted by the operator);
# the index cache is rebuilt from the bucket when the container restarts.
ENV CASSETTE_CACHE_DIR=/tmp/cassette-cache \
    CASSETTE_STATE_DIR=/var/lib/cassandra \
    CASSETTE_METRICS_ADDR=:9091 \
    CASSETTE_LOG_LEVEL=info \
    CASSETTE_LOG_FORMAT=json
EXPOSE 50051 9091
USER cassandra
# No arguments: MEDUSA_MODE (GRPC or RESTORE) decides, as in Medusa's image.
ENTRYPOINT ["/usr/local/bin/cassette"]
CMD []
