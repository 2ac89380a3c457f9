# syntax=docker/dockerfile:1
#
# authserve container image: a static binary on distroless, running as a
# non-root user, with its SQLite database in the /data volume.
#
#   docker build --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse --short=12 HEAD) -t authserve:v1.2.3 .
#   docker run -p 8080:8080 -v authserve-data:/data authserve:v1.2.3
#
# Other sub-commands run the same way: docker run --rm authserve:v1.2.3 version.
# See docs/deployment.md.
#
# Needs BuildKit (the RUN --mount caches and the syntax line): Docker 23 or
# later uses it by default; older Docker needs DOCKER_BUILDKIT=1.

# Match the toolchain line of go.mod (the patched Go; see `make vulncheck`):
# the golang images set GOTOOLCHAIN=local, so an older Go would refuse to
# build rather than download a newer one.
ARG GO_VERSION=1.27.3

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first, so that a code change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS TARGETARCH
ARG VERSION=dev
ARG COMMIT=
# CGO_ENABLED=0: modernc.org/sqlite is pure Go, so the binary needs no libc
# and runs on an image without one.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/authserve ./cmd/authserve \
    && mkdir /out/data

# distroless/static: CA certificates, tzdata and /etc/passwd, no shell.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="authserve" \
      org.opencontainers.image.description="Authentication service: registration, login, JWT access tokens, rotating refresh tokens" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/authserve /usr/local/bin/authserve
# The volume's mount point, owned by the nonroot user (65532) so that a new
# named volume, which starts as a copy of it, is writable.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# The working directory is where the development signing key (when no key is
# configured) and a .env file would be: inside the volume.
WORKDIR /data
ENV AUTH_ADDR=:8080 \
    AUTH_DATABASE_URL=sqlite:/data/authserve.db
VOLUME ["/data"]
EXPOSE 8080
# No shell or curl in the image: the binary checks itself (GET /healthz at
# AUTH_ADDR).
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/usr/local/bin/authserve", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/authserve"]
CMD ["serve"]
