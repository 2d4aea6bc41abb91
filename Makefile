# Kizuna — `make help` lists the targets.
GO      ?= go
BIN     ?= kizuna
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/kizuna-cs/kizuna/internal/cli.Version=$(VERSION)

.PHONY: help build demo test test-postgres lint bench fuzz clean

help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build ./kizuna.
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/kizuna

demo: ## Run the demo on the embedded database.
	$(GO) run ./cmd/kizuna demo

test: ## Run every test (set KIZUNA_TEST_POSTGRES to include PostgreSQL).
	$(GO) test ./...

test-postgres: ## Run every test on SQLite and on the local PostgreSQL.
	KIZUNA_TEST_POSTGRES=$${KIZUNA_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable} $(GO) test ./...

lint: ## gofmt, go vet, and staticcheck when it installs.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -version >/dev/null 2>&1; then \
		$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...; \
	else echo "staticcheck not available; skipped"; fi

bench: ## Print the figures the issues ask for (see bench/README.md).
	bash bench/run

fuzz: ## Fuzz each fuzz target for FUZZTIME inputs (default 50000x; a duration such as 30s races go.dev/issue/75804).
	@for target in ./internal/tracking/:FuzzDecode ./internal/tracking/:FuzzScanMatchesStd \
		./internal/csvimport/:FuzzImport ./internal/usage/:FuzzMergeDelta; do \
		$(GO) test -run '^$$' -fuzz "^$${target#*:}\$$" -fuzztime $${FUZZTIME:-50000x} "$${target%%:*}" || exit 1; \
	done

clean: ## Remove build output and benchmark files.
	rm -rf $(BIN) bench/out
