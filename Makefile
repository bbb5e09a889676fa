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
export TF_CPP_MIN_LOG_LEVEL ?= 2

BIN     := bin/spatgan
LDFLAGS := -X main.version=$(VERSION)
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

build: deps
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/spatgan

train: build
	$(BIN) train --out $(BUNDLE) --config $(CONFIG) $(if $(STEPS),--steps $(STEPS)) $(if $(TRACE),--trace $(TRACE))

test-tools:
	@scripts/install-test-tools.sh

# Packages that must build without cgo: only tf/ may use it (and what
# imports tf/: graphs, train, bundle, bench/gan, cmd; bench/gan's files are
# marked //go:build cgo, so ./bench/... builds the pure-Go evaluation).
PUREGO := ./trace/... ./features/... ./bundle/layout ./metrics/... ./sampler/... ./simulate/... ./visualize/... ./internal/... ./bench/...

test: deps test-tools
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) build $(PUREGO)
	$(GO) test -count=1 ./...

# Benchmarks run one package at a time (-p 1): test binaries of several
# packages running at once on two cores would measure each other.

# The race detector over the pure-Go packages (the cgo ones spend their time
# inside TensorFlow, where it sees nothing). bench is left out: its tests run
# whole evaluations (boosted classifiers on thousands of rows), many times
# slower under the detector, of single-goroutine code from metrics, sampler
# and simulate, which are in the list.
RACE    := ./trace/... ./features/... ./bundle/layout ./metrics/... ./sampler/... ./simulate/... ./visualize/... ./internal/...
test-race:
	$(GO) test -race -count=1 $(RACE)

bench: deps
	$(GO) test -p 1 -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem ./...

fuzz: deps
	@scripts/fuzz.sh $(FUZZTIME)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin out
