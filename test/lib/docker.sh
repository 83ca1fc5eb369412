# Sourced by the end-to-end scripts: a Docker engine of their own and the
# repository's images, built offline.
#
# The engine is Debian's docker.io, started by hand with its own data and
# exec roots under $work, no bridge and no iptables. No image is pulled: the
# builder image is assembled from this machine's Go toolchain, CA
# certificates and a static busybox, and the build reaches only the Go module
# proxy. The caller sets $work, defines fail() and calls docker_stop at exit.

export DOCKER_HOST="unix://$work/docker.sock" DOCKER_BUILDKIT=0
docker=/usr/bin/docker # Debian's client, the engine's version
dockerd_pid=
# The VERSION every image of the run is built with (and labelled with).
image_version=$(scripts/version)
image_revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)

. "$(dirname "${BASH_SOURCE[0]}")/wait.sh"

docker_start() {
	dockerd --data-root "$work/data" --exec-root "$work/exec" --pidfile "$work/dockerd.pid" \
		-H "$DOCKER_HOST" --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
		--userland-proxy=false >"$work/dockerd.log" 2>&1 &
	dockerd_pid=$!
	wait_for 60 "dockerd to answer" $docker version || { tail -20 "$work/dockerd.log"; exit 1; }
	$docker version --format 'engine {{.Server.Version}}, storage {{.Server.Os}}'
	$docker info --format 'storage driver: {{.Driver}}, cgroup {{.CgroupVersion}}'
}

# docker_stop stops the engine (by PID) and unmounts what it left under $work.
docker_stop() {
	if [ -n "$dockerd_pid" ]; then
		kill -TERM "$dockerd_pid" && wait "$dockerd_pid"
		dockerd_pid=
	fi
	grep -F "$work" /proc/mounts | awk '{print $2}' | sort -r | xargs -r umount -l
}

# docker_builder imports shardinit-builder:local: Go, busybox, CA certificates.
docker_builder() {
	local root="$work/builder" goroot
	mkdir -p "$root/bin" "$root/tmp" "$root/root"
	chmod 1777 "$root/tmp"
	cp "$(command -v busybox)" "$root/bin/busybox"
	ln -sf busybox "$root/bin/sh"
	goroot=$(go env GOROOT)
	tar -c -C "$root" . -C / "${goroot#/}" etc/ssl/certs/ca-certificates.crt |
		$docker import -c "ENV PATH=$goroot/bin:/bin HOME=/root GOTOOLCHAIN=local" - shardinit-builder:local >/dev/null
}

# docker_build TARGET TAG [GOARCH]: one stage of the repository's
# Dockerfile (legacy builder, which sets no platform arguments: they are
# passed here), for this machine's architecture or cross-compiled for
# GOARCH. The LD_PRELOAD shim is compiled here first (the builder image has
# no C compiler): natively, or with the cross compiler make dist uses.
docker_build() {
	local target=$1 tag=$2 arch=${3:-$(go env GOARCH)} start=$SECONDS
	if [ "$arch" = "$(go env GOARCH)" ]; then
		make -s -C shim
	else
		make -s -C shim BUILD="build-$arch" CC="$(make -s --no-print-directory print-cc ARCH="$arch")"
	fi
	$docker build -q --network host --build-arg BUILDER=shardinit-builder:local \
		--build-arg BUILDPLATFORM="linux/$(go env GOARCH)" --build-arg TARGETARCH="$arch" \
		--build-arg VERSION="$image_version" --build-arg REVISION="$image_revision" --target "$target" -t "$tag" . >/dev/null
	echo "$tag built in $((SECONDS - start))s (linux/$arch)"
}

# docker_debian imports debian:bookworm-slim, the base the examples build
# FROM: a minimal Debian bookworm debootstrapped from Debian's mirror, so
# that nothing is pulled from a registry. Users build the same Dockerfiles
# on the published image.
docker_debian() {
	local root="$work/debian" start=$SECONDS
	debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
		{ tail -20 "$work/debootstrap.log"; fail "debootstrap of Debian bookworm failed"; }
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
	tar -c -C "$root" . | $docker import -c 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
	echo "debian:bookworm-slim debootstrapped and imported in $((SECONDS - start))s"
}
