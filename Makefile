# go.temporal.io/server needs Go >= 1.26.10; the go command fetches this
# toolchain from the module proxy on first use (about 10 s per machine).
export GOTOOLCHAIN := go1.27.3

GO       ?= go
BIN      := bin/odr
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
WORKFLOWCHECK := go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0

.PHONY: run build test test-cluster lint bench fmt clean

## run: start `odr dev` (embedded Temporal + Web UI + worker + APIs, demo included)
run: build
	./$(BIN) dev

## build: compile the odr binary into bin/
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/odr

## test: all tests: unit, replay and integration against an embedded Temporal server
test:
	$(GO) test -count=1 -timeout 30m ./...

## test-cluster: the production topology on this machine (PostgreSQL, Temporal server,
## 2 odr api, 2 odr worker) under load while processes are killed; needs PostgreSQL installed
test-cluster:
	$(GO) vet -tags cluster ./clustertest
	$(GO) test -tags cluster -count=1 -timeout 40m -v ./clustertest

## lint: gofmt check, go vet and the workflow determinism check
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(WORKFLOWCHECK) -config workflowcheck.config.yaml ./workflows/...

## bench: Go micro-benchmarks, then `odr bench` for 10 s: API vs raw engine (BENCHMARKS.md; add flags with BENCHFLAGS=...)
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...
	./$(BIN) bench --duration 10s $(BENCHFLAGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
