# SPATGAN in Go. `make train` and `make test` are the two commands a new user needs.
# The libtensorflow location comes from scripts/provision-tf.sh: LIBTENSORFLOW_DIR
# if you set it (your own or a GPU build), else a pinned CPU build cached in
# ~/.cache/spatgan. Nothing needs to be exported by hand.

SHELL   := /bin/bash
export LIBTENSORFLOW_DIR
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
TF_DIR  := $(shell scripts/provision-tf.sh --dir)
export CGO_ENABLED := 1
ifneq ($(TF_DIR),)
export CGO_CFLAGS  := -I$(TF_DIR)/include
export CGO_LDFLAGS := -L$(TF_DIR)/lib -Wl,-rpath,$(TF_DIR)/lib
endif

BIN     := bin/spatgan
LDFLAGS := -X github.com/spatgan/spatgan/cmd/internal/cli.Version=$(VERSION)
BUNDLE  ?= out/bundle
STEPS   ?=
CONFIG  ?= default
TRACE   ?=
BENCH   ?= .
BENCHTIME ?= 1x
FUZZTIME ?= 60s

.PHONY: all deps build train test test-race test-tools vet fmt bench soak fuzz clean

all: build

deps:
	@scripts/provision-tf.sh

# bin/spatgan, and the two sides of a live conversation as their own
# binaries (the same flags as spatgan simulate server|client).
build: deps
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/ ./cmd/spatgan ./cmd/spatgan-server ./cmd/spatgan-client

train: build
	$(BIN) train --out $(BUNDLE) --config $(CONFIG) $(if $(STEPS),--steps $(STEPS)) $(if $(TRACE),--trace $(TRACE))

test-tools:
	@scripts/install-test-tools.sh

# Packages that must build without cgo: only tf/ may use it (and what
# imports tf/: graphs, train, bundle, bench/gan, cmd; bench/gan's files are
# marked //go:build cgo, so ./bench/... builds the pure-Go evaluation).
PUREGO := ./trace/... ./features/... ./bundle/layout ./metrics/... ./sampler/... ./simulate/... ./visualize/... ./internal/... ./bench/...

# The tests of cmd/spatgan run the binaries that build has just made.
test: build test-tools
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) build $(PUREGO)
	SPATGAN_BIN=$(CURDIR)/bin $(GO) test -count=1 ./...

# Benchmarks run one package at a time (-p 1): test binaries of several
# packages running at once on two cores would measure each other.

# The race detector over the pure-Go packages, and over train/ and bundle/:
# train's model goroutines share a loss log, a progress bar and an error
# group (TestRunModels*, TestLossLog* exercise them without TensorFlow; the
# other tests drive real training, where the detector sees the Go side).
# bench is left out: its tests run whole evaluations (boosted classifiers on
# thousands of rows), many times slower under the detector, of
# single-goroutine code from metrics, sampler and simulate, which are in the
# list. tf/, graphs/ and cmd/ spend their time inside TensorFlow.
RACE := ./trace/... ./features/... ./bundle/layout ./metrics/... ./sampler/... ./simulate/... ./visualize/... ./internal/... ./train/... ./bundle/...

test-race: deps
	$(GO) test -race -count=1 $(RACE)

bench: deps
	$(GO) test -p 1 -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem ./...

# The 1,000-pair live soak of issue 11 (scripts/soak.sh): the GAN of
# $(BUNDLE) shared by every conversation, 60 s, niced so that it does not
# starve other work; run it alone. SOAK_PAIRS, SOAK_DURATION override.
SOAK_PAIRS    ?= 1000
SOAK_DURATION ?= 60s
soak: build
	nice -n 15 scripts/soak.sh $(BIN) $(BUNDLE) $(SOAK_PAIRS) $(SOAK_DURATION)

fuzz: deps
	@scripts/fuzz.sh $(FUZZTIME)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin out
