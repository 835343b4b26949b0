# Base images are build arguments so that a machine without a registry can pass local stand-ins
# (deploy/images); the defaults are the public images. No `# syntax=` line: the engine's built-in
# frontend handles RUN --mount, and fetching a frontend image needs a registry.
ARG GO_IMAGE=golang:1.26-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

# Build: a static binary, stamped with its version and VCS revision (opsworker_build_info; the
# build context has no .git, so the go command cannot record the revision itself), with zone
# data compiled in (time/tzdata).
FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" -o /out/opsworker ./cmd/opsworker

# Run: distroless static, no shell, non-root. The binary is its own health check.
FROM ${RUNTIME_IMAGE} AS final
COPY --from=build /out/opsworker /usr/local/bin/opsworker
USER nonroot:nonroot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/opsworker", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/opsworker"]
CMD ["serve"]
