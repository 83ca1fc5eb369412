# shardinit — developer entry points. `make help` lists them.
GO      ?= go
# The version: the tag vX.Y.Z at HEAD, else the release CHANGELOG.md leads
# to as a pre-release with the commit (scripts/version).
VERSION ?= $(shell scripts/version)
# The commit, for shardinit_build_info and the image's revision label.
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.revision=$(REVISION)
# urfave_cli_no_docs leaves the man-page generator (and its markdown
# parser) out of PID 1's binary: 0.5 MiB less resident memory (measured).
TAGS    := urfave_cli_no_docs
ADDR    ?= :8080

.PHONY: help shim build print-cc dist docs test fuzz demo lint e2e-image e2e-examples chart-test e2e-k8s bench clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-11s %s\n", $$1, $$2}'

SHIM      := shim/build/libshardinit_preload.so
EMBEDDED  := internal/preload/libshardinit_preload.so
# The shim is embedded (build tag shim) only when it could be compiled.
SHIM_TAG   = $$(test -f $(EMBEDDED) && echo shim)

shim: ## compile the LD_PRELOAD shim where the build embeds it (skipped without a C compiler)
	@if command -v $(CC) >/dev/null 2>&1; then \
		$(MAKE) -s -C shim && cp $(SHIM) $(EMBEDDED); \
	else \
		echo "no C compiler ($(CC)): building without the LD_PRELOAD shim (--preload will refuse)"; \
		rm -f $(EMBEDDED); \
	fi

build: shim ## build bin/shardinit (with the LD_PRELOAD shim) and bin/hello
	CGO_ENABLED=0 $(GO) build -tags "$(TAGS) $(SHIM_TAG)" -trimpath -ldflags "$(LDFLAGS)" -o bin/shardinit ./cmd/shardinit
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/hello ./examples/hello

# make dist: static release binaries, each with the shim compiled for its
# architecture (a cross compiler where it is not this machine's; Debian's
# gcc-aarch64-linux-gnu or gcc-x86-64-linux-gnu) and checked for it before
# it is embedded, and SHA256SUMS. The host's own shim is put back after.
DIST_ARCHES ?= amd64 arm64
HOST_ARCH   := $(shell $(GO) env GOARCH)
CC_amd64    ?= $(if $(filter amd64,$(HOST_ARCH)),$(CC),x86_64-linux-gnu-gcc)
CC_arm64    ?= $(if $(filter arm64,$(HOST_ARCH)),$(CC),aarch64-linux-gnu-gcc)

print-cc: # the C compiler make dist uses for ARCH (test/lib/docker.sh asks)
	@case $(ARCH) in amd64) echo "$(CC_amd64)";; arm64) echo "$(CC_arm64)";; *) echo "no C compiler known for $(ARCH)" >&2; exit 1;; esac

dist: ## release binaries for linux/amd64 and linux/arm64, each with its own shim, and dist/SHA256SUMS
	@rm -rf dist && mkdir -p dist
	@for arch in $(DIST_ARCHES); do \
		cc=$$(case $$arch in amd64) echo "$(CC_amd64)";; arm64) echo "$(CC_arm64)";; esac); \
		command -v $$cc >/dev/null || { echo "dist: no C compiler for $$arch ($$cc)"; exit 1; }; \
		$(MAKE) -s -C shim BUILD=build-$$arch CC=$$cc || exit 1; \
		$(GO) run ./internal/preload/checkshim shim/build-$$arch/libshardinit_preload.so $$arch || exit 1; \
		cp shim/build-$$arch/libshardinit_preload.so $(EMBEDDED); \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -tags "$(TAGS) shim" -trimpath -ldflags "$(LDFLAGS)" \
			-o dist/shardinit-$(VERSION)-linux-$$arch ./cmd/shardinit || exit 1; \
		echo "dist/shardinit-$(VERSION)-linux-$$arch"; \
	done
	@cd dist && sha256sum shardinit-* > SHA256SUMS && cat SHA256SUMS
	@$(MAKE) -s shim

docs: ## write docs/settings.md's table and the chart schema's settings line from cmd/shardinit/table.go (tests fail when they differ)
	$(GO) test -count=1 -run 'TestSettingsDoc|TestChartSettingsSchema' ./cmd/shardinit -update

# The worker SDK (pkg/worker) is a module of its own: ./... stops at it.
WORKER_SDK := cd pkg/worker &&

test: shim ## vet, the shim's own tests (ASan, valgrind), every Go test with the race detector (root for the PID 1 tests), then fuzz
	$(GO) vet ./...
	$(WORKER_SDK) $(GO) vet ./...
	@if test -f $(EMBEDDED); then $(MAKE) -s -C shim test; fi
	@echo "test: go test -race of every package; cmd/shardinit runs real servers and prints nothing until it ends (6-8 min on 2 cores)"
	$(GO) test -race -count=1 -tags "$(SHIM_TAG)" ./...
	$(WORKER_SDK) $(GO) test -race -count=1 ./...
	@$(MAKE) --no-print-directory fuzz

# go test -fuzz takes one target at a time: each func Fuzz… found in a
# _test.go file runs on its own for FUZZTIME (about 7 s each with the build).
FUZZTIME ?= 5s
fuzz: ## run every Go fuzz target (flags, environment, YAML, listen specs, signals) for FUZZTIME each
	@grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' cmd pkg internal | sed 's|/[^/]*:func | |' | sort -u | \
	while read dir name; do \
		echo "fuzz $$name ./$$dir ($(FUZZTIME))"; \
		out=$$($(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) ./$$dir 2>&1) || \
		{ echo "$$out" | grep -v '^fuzz: elapsed' | tail -20; exit 1; }; \
	done

demo: build ## run shardinit with examples/hello on $(ADDR) (health on :8081); Ctrl-C stops it
	bin/shardinit --listen http=$(ADDR) -- bin/hello

lint: ## gofmt and go vet must be clean
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(WORKER_SDK) $(GO) vet ./...

e2e-image: ## build the image on a real Docker engine (started here) and run it: PID 1, probes, docker stop
	bash test/e2e-image.sh

e2e-examples: ## build every server example (examples/*/Dockerfile, FROM a Debian base debootstrapped here) and run each: every worker answers, SIGHUP rolls, docker stop exits 0 (EXAMPLES=nginx… picks some)
	bash test/e2e-examples.sh

chart-test: build ## lint and render the chart, validate every object, install it on a real kube-apiserver
	@echo "chart-test: compiling test/k8s against the Kubernetes API types (minutes on a cold Go cache, seconds after)"
	cd test/k8s && $(GO) test -count=1 ./... && cd promql && $(GO) test -count=1 ./...
	bash deploy/check.sh
	DASHBOARDS="$(wildcard deploy/grafana/*.json)" bash test/k8s/chart-test.sh deploy/helm/shardinit deploy/k8s $(wildcard deploy/values/*.yaml) $(wildcard examples/*/values.yaml)

e2e-k8s: ## the chart on a live single-node cluster (kubelet, containerd) started here: probes, PID 1, rollouts under load, stuck workers
	bash test/k8s/e2e.sh

bench: build ## the benchmark suite on 127.0.0.1 (RUNS, DURATION, SMOKE=1, SECTIONS: see bench/README.md); writes bench/results.json and docs/benchmarks.md
	bash bench/run.sh

clean: ## remove build output: bin, dist and the shim's (shim/build*, the copy embedded from internal/preload)
	rm -rf bin dist shim/build shim/build-* internal/preload/libshardinit_preload.so
