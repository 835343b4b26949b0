# syntax=docker/dockerfile:1

# Build: a static binary, stamped with its version, with zone data compiled in (time/tzdata).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/opsworker ./cmd/opsworker

# Run: distroless static, no shell, non-root. The binary is its own health check.
FROM gcr.io/distroless/static-debian12:nonroot AS final
COPY --from=build /out/opsworker /usr/local/bin/opsworker
USER nonroot:nonroot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/opsworker", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/opsworker"]
CMD ["serve"]
