# authserve — common tasks. `make help` lists them.
GO ?= go
BIN ?= bin/authserve
PG_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: help run build test test-race test-postgres cover lint fmt bench loadbench fuzz openapi openapi-lint diagrams tidy check ci

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  %-14s %s\n", $$1, $$2 }'

run: ## serve on :8080 with zero configuration (SQLite authserve.db)
	$(GO) run ./cmd/authserve

build: ## build a static binary into bin/
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/authserve

test: ## run every test (PostgreSQL/Redis tests skip unless their URL is set)
	$(GO) test ./...

test-race: ## run every test with the race detector
	$(GO) test -race ./...

test-postgres: ## run every test against the local PostgreSQL and Redis too
	AUTH_TEST_POSTGRES_URL='$(PG_URL)' AUTH_TEST_REDIS_URL='$(REDIS_URL)' $(GO) test -race ./...

cover: ## coverage report of ./internal/...
	$(GO) test -coverpkg=./internal/... -coverprofile=coverage.out ./...
	$(GO) tool cover -func=coverage.out | tail -n 1

lint: ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	$(GO) vet ./...
	staticcheck ./...

fmt: ## format the code
	gofmt -w .

bench: ## Go benchmarks with allocations
	$(GO) test -run '^$$' -bench . -benchmem ./...

loadbench: ## the README's load figures: bench/load.sh (fresh servers, authbench, medians)
	bash bench/load.sh

fuzz: ## run every fuzz target for 30 s
	bash .ci/fuzz 30s

openapi: ## regenerate the OpenAPI golden files (3.1 and its 3.0 downgrade)
	$(GO) test ./internal/httpapi -run TestOpenAPIGolden -update

openapi-lint: ## lint both OpenAPI documents with the pinned Redocly CLI (no errors, no warnings)
	bash tools/redocly/lint.sh internal/httpapi/testdata/openapi.golden.json internal/httpapi/testdata/openapi-3.0.golden.json

diagrams: ## regenerate docs/design/schema.puml from the migrations and render every diagram to SVG
	$(GO) test ./internal/design -run TestSchemaDiagram -update
	bash .ci/diagrams

tidy: ## tidy go.mod
	$(GO) mod tidy

check: lint test-race ## what CI checks, quickly

ci: ## the full CI script (starts services, race, coverage, fuzz, smoke)
	bash .ci/run
