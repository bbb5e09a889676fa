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

.PHONY: all deps build train test test-race test-tools vet fmt bench fuzz clean

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
# imports tf/: graphs, train, bundle, bench, cmd).
PUREGO := ./trace/... ./metrics/... ./sampler/... ./simulate/... ./visualize/... ./internal/...

# The tests of cmd/spatgan run the binaries that build has just made.
test: build test-tools
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) build $(PUREGO)
	SPATGAN_BIN=$(CURDIR)/bin $(GO) test -count=1 ./...

# Benchmarks run one package at a time (-p 1): test binaries of several
# packages running at once on two cores would measure each other.

# The race detector over the pure-Go packages (the cgo ones spend their time
# inside TensorFlow, where it sees nothing).
test-race:
	$(GO) test -race -count=1 $(PUREGO)

bench: deps
	$(GO) test -p 1 -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem ./...

fuzz: deps
	@scripts/fuzz.sh $(FUZZTIME)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin out
