# syntax=docker/dockerfile:1
#
# The odr image: one static binary for `odr api`, `odr worker` and `odr setup`
# (docker-compose.yml runs all three from it), plus the health probe that
# compose's health checks use, since the runtime image has no shell or curl.
#
#   docker build -t odrflow/odr:dev --build-arg VERSION=$(git describe --tags --always) .

# The Go version is the toolchain the Makefile and .ci/run pin with
# GOTOOLCHAIN (go.temporal.io/server needs Go >= 1.26.10); deploy's tests
# keep the two equal.
ARG GO_VERSION=1.27.3

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Build with the image's Go, never a downloaded one; no cgo, so the binaries
# are static and run on distroless/static.
ENV GOTOOLCHAIN=local CGO_ENABLED=0
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/odr ./cmd/odr && \
    go build -trimpath -ldflags "-s -w" -o /out/healthcheck ./deploy/healthcheck

# distroless/static: CA certificates and tzdata, no shell; the nonroot tag
# runs as uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/odr /out/healthcheck /usr/local/bin/
USER nonroot:nonroot
# odr api's public and admin APIs, odr worker's /metrics and /healthz.
EXPOSE 8080 8081 9464
ENTRYPOINT ["/usr/local/bin/odr"]
CMD ["--help"]
