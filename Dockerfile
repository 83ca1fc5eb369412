# shardinit's image, and a demo image with examples/hello.
#
#   docker build -t shardinit .                      # the shardinit image (last stage)
#   docker build --target demo -t shardinit-demo .   # + examples/hello as the server
#
# Adopt it in your own image with one line, and make it the entrypoint:
#
#   COPY --from=shardinit /shardinit /usr/local/bin/shardinit
#   ENTRYPOINT ["shardinit", "--"]
#
# BUILDER is any image with Go >= 1.26 and a shell; offline, build one
# locally (make e2e-image shows how) and pass --build-arg BUILDER=….
# The module download needs the Go module proxy: build with --network host
# where the builder has no other network.
#
# Multi-arch without emulation: the build stage runs on the build machine's
# platform and cross-compiles for the target's (Go needs no emulator):
#
#   make dist      # the shim for each architecture, in shim/build-<arch>
#   docker buildx build --platform linux/amd64,linux/arm64 -t shardinit .
#
# BuildKit sets BUILDPLATFORM and TARGETARCH. The legacy builder
# (DOCKER_BUILDKIT=0) sets neither: pass --build-arg BUILDPLATFORM=linux/amd64
# (the machine's), and TARGETARCH=arm64 to cross-compile.
ARG BUILDER=golang:1.26-bookworm
ARG BUILDPLATFORM

FROM --platform=$BUILDPLATFORM ${BUILDER} AS build
ARG TARGETARCH
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
COPY go.mod go.sum ./
# The worker SDK is a module of its own, replaced by this directory.
COPY pkg/worker/go.mod pkg/worker/
RUN go mod download
COPY cmd cmd
COPY pkg pkg
COPY internal internal
COPY examples examples
COPY shim shim
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
# The LD_PRELOAD shim is embedded when the context brings it compiled for
# the target (shim/build-<arch>, as make dist leaves it; or shim/build, as
# make build and make e2e-image do, when the target is the build machine's
# architecture), or when the builder can compile it natively (cc and make);
# otherwise --preload refuses with a clear error. checkshim refuses a
# library of another architecture.
RUN arch=${TARGETARCH:-$(go env GOARCH)}; native=$(go env GOARCH); tags=urfave_cli_no_docs; shim=; \
    if [ -f shim/build-$arch/libshardinit_preload.so ]; then shim=shim/build-$arch/libshardinit_preload.so; \
    elif [ "$arch" = "$native" ]; then \
        if [ ! -f shim/build/libshardinit_preload.so ] && command -v cc >/dev/null && command -v make >/dev/null; then \
            make -s -C shim; \
        fi; \
        [ -f shim/build/libshardinit_preload.so ] && shim=shim/build/libshardinit_preload.so; \
    fi; \
    if [ -n "$shim" ]; then \
        go run ./internal/preload/checkshim "$shim" "$arch" && \
        cp "$shim" internal/preload/libshardinit_preload.so && tags="$tags shim" || exit 1; \
    fi; \
    export GOOS=linux GOARCH=$arch && \
    go build -tags "$tags" -ldflags "-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" -o /out/shardinit ./cmd/shardinit && \
    go build -ldflags "-s -w" -o /out/hello ./examples/hello

# The shardinit image: one static binary, nothing else; non-root by default
# (a listener below 1024 then needs NET_BIND_SERVICE, which the Helm chart
# adds when it sees one).
FROM scratch AS base
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="shardinit" \
      org.opencontainers.image.description="Run a network server on every core of the pod, as a correct PID 1" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="https://github.com/shardinit/shardinit"
COPY LICENSE /LICENSE
COPY --from=build /out/shardinit /shardinit
USER 65532:65532
STOPSIGNAL SIGTERM
EXPOSE 8081
ENTRYPOINT ["/shardinit", "--"]

# The demo: examples/hello on :8080, health on :8081. Settings come from
# SHARDINIT_* variables or a file named by SHARDINIT_CONFIG, since every
# argument after the image name is the worker command.
FROM base AS demo
COPY --from=build /out/hello /hello
ENV SHARDINIT_LISTEN=http=:8080
EXPOSE 8080
CMD ["/hello"]

FROM base AS shardinit
