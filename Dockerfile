# tickflow container image: a multi-stage build.
#
#   docker build -t tickflow:0.1.0 .
#   docker build --build-arg RUST_VERSION=1.95 --build-arg DEBIAN_RELEASE=bookworm -t tickflow .
#
# Build arguments:
#   RUST_VERSION    Rust toolchain of the build stage (rust:<RUST_VERSION>-<DEBIAN_RELEASE>);
#                   at least the workspace's rust-version (1.85).
#   DEBIAN_RELEASE  Debian release of both stages (the runtime's libssl must match the build's).
#   CARGO_FEATURES  Extra cargo features of the `tickflow` package (default none).
#
# Runtime: debian-slim with the binary, CA certificates, the shared libraries it links (OpenSSL,
# zlib) and the bundled reference tables (`reference.source = "embedded"`), as user 10001 with
# nothing writable but mounted volumes (the k8s manifests set readOnlyRootFilesystem).

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS build
ARG CARGO_FEATURES=""
# librdkafka is built from source (rdkafka's cmake-build feature).
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake pkg-config libssl-dev libcurl4-openssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p tickflow --bin tickflow --features "${CARGO_FEATURES}" \
 && install -D -m 0755 target/release/tickflow /out/tickflow

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 tickflow \
 && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin tickflow
COPY --from=build /out/tickflow /usr/local/bin/tickflow
COPY reference /usr/share/tickflow/reference
ENV TICKFLOW_REFERENCE=/usr/share/tickflow/reference
USER 10001:10001
WORKDIR /var/lib/tickflow
# 8080: HTTP API, /health/*, /metrics (DATA_PROC_HEALTH_PORT); 2101: timely peers (DATA_PROC_PEER_PORT).
EXPOSE 8080 2101
ENTRYPOINT ["/usr/local/bin/tickflow"]
CMD ["run", "--follow"]
