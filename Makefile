# authserve — common tasks. `make help` lists them.
GO ?= go
BIN ?= bin/authserve
PG_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
REDIS_URL ?= redis://127.0.0.1:6379/0
MYSQL_URL ?= mysql://root@127.0.0.1:3306/test

# The patched toolchain (go.mod's toolchain line): Go 1.26.8's standard
# library has vulnerabilities our code reaches; `make vulncheck` proves it.
export GOTOOLCHAIN := go1.27.3

# Stamped into the binary: `authserve version` prints them.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

# Pinned tools, run through the module proxy (never @latest).
STATICCHECK_VERSION := v0.8.2
GOLANGCI_LINT_VERSION := v2.15.0
GOVULNCHECK_VERSION := v1.9.0
VULNDB_VERSION := v0.0.0-20261105234957-e22db6528018
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
GOLANGCI_LINT := $(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
GOVULNCHECK := $(GO) run golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)
# The offline vulnerability database, built from the golang.org/x/vulndb
# module at VULNDB_VERSION (the module proxy serves it).
VULNDB_DIR ?= $(CURDIR)/bin/vulndb-$(VULNDB_VERSION)
# container-stand-ins.sh builds the image offline (CI: ../shared relative to
# the clone); `make image-test` skips, loudly, when it or dockerd is missing.
STAND_INS ?= $(firstword $(wildcard $(CURDIR)/../shared/tools/container-stand-ins.sh /work/shared/tools/container-stand-ins.sh))
COVER_MIN ?= 80
FUZZTIME ?= 30s

.PHONY: help run build test test-race test-postgres cover lint fmt bench bench-quick bench-run gobench bench-once loadbench fuzz openapi openapi-lint diagrams diagrams-check tidy vulncheck check ci image-test

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  %-14s %s\n", $$1, $$2 }'

run: ## serve on :8080 with zero configuration (SQLite authserve.db)
	$(GO) run ./cmd/authserve

build: ## build a static binary into bin/, stamped with VERSION and COMMIT
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/authserve

test: ## run every test (PostgreSQL/MariaDB/Redis tests skip unless their URL is set)
	$(GO) test ./...

test-race: ## run every test with the race detector
	CGO_ENABLED=1 $(GO) test -race ./...

test-postgres: ## run every test against the local PostgreSQL, MariaDB and Redis too
	AUTH_TEST_POSTGRES_URL='$(PG_URL)' AUTH_TEST_REDIS_URL='$(REDIS_URL)' AUTH_TEST_MYSQL_URL='$(MYSQL_URL)' \
	  CGO_ENABLED=1 $(GO) test -race ./...

cover: ## every test with -race and coverage of ./internal/...; fails under COVER_MIN %
	CGO_ENABLED=1 $(GO) test -race -coverpkg=./internal/... -coverprofile=coverage.out ./...
	@total=$$($(GO) tool cover -func=coverage.out | awk '/^total:/ { sub("%", "", $$3); print $$3 }'); \
	  echo "coverage of ./internal/...: $${total}%"; \
	  awk -v t="$$total" -v m=$(COVER_MIN) 'BEGIN { exit !(t >= m) }' || { echo "coverage $${total}% is under $(COVER_MIN)%" >&2; exit 1; }

lint: ## gofmt, go vet, staticcheck and golangci-lint (depguard: the import direction)
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed on:" >&2; gofmt -l . >&2; exit 1; }
	$(GO) vet ./...
	$(STATICCHECK) ./...
	$(GOLANGCI_LINT) run ./...

fmt: ## format the code
	gofmt -w .

BENCH_OUT ?= docs/performance
BENCH_ENGINES ?= sqlite,postgres
BENCH_ENV ?=

bench: ## the performance table: authbench suite (3 passes, ~10 min), JSON, chart, docs/performance.md regenerated
	$(MAKE) bench-run BENCH_MODE=full

bench-quick: ## the same set once with 2 s phases (~1 min), into bin/bench-quick; the table is left alone
	$(MAKE) bench-run BENCH_MODE=quick BENCH_OUT=bin/bench-quick BENCH_README=

BENCH_README ?= docs/performance.md
bench-run:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/authserve ./cmd/authserve
	$(GO) build -o bin/authceiling ./cmd/authceiling
	$(GO) build -o bin/authbench ./cmd/authbench
	mkdir -p $(BENCH_OUT)
	bin/authbench suite --mode $(BENCH_MODE) --engines $(BENCH_ENGINES) --postgres-url '$(PG_URL)' \
	  $(if $(BENCH_ENV),--env '$(BENCH_ENV)') --json $(BENCH_OUT)/bench.json --svg $(BENCH_OUT)/bench.svg >$(BENCH_OUT)/bench.txt
	cat $(BENCH_OUT)/bench.txt
	$(if $(BENCH_README),bin/authbench readme --json $(BENCH_OUT)/bench.json $(BENCH_README))

gobench: ## Go benchmarks with allocations
	$(GO) test -run '^$$' -bench . -benchmem ./...

bench-once: ## every benchmark once, so that none can rot
	$(GO) test -run '^$$' -bench . -benchtime=1x ./... >/dev/null

loadbench: ## docs/performance.md's round-1 load figures: bench/load.sh (fresh servers, authbench, medians)
	bash bench/load.sh

fuzz: ## run every fuzz target for FUZZTIME (30s)
	bash .ci/fuzz $(FUZZTIME)

openapi: ## regenerate the OpenAPI golden files (3.1 and its 3.0 downgrade)
	$(GO) test ./internal/httpapi -run TestOpenAPIGolden -update

openapi-lint: ## lint the OpenAPI documents (public 3.1 and 3.0, admin) with the pinned Redocly CLI: no errors, no warnings
	bash tools/redocly/lint.sh internal/httpapi/testdata/openapi.golden.json internal/httpapi/testdata/openapi-3.0.golden.json internal/adminapi/testdata/openapi.golden.json

diagrams: ## regenerate docs/design/schema.puml from the migrations and render every diagram to SVG
	$(GO) test ./internal/design -run TestSchemaDiagram -update
	bash .ci/diagrams

diagrams-check: ## re-render every diagram and fail if a committed SVG differs from its source's rendering
	bash .ci/diagrams --check

tidy: ## tidy go.mod
	$(GO) mod tidy

vulncheck: ## govulncheck against an offline database; fails on any vulnerability the code reaches
	@if [ ! -f '$(VULNDB_DIR)/index/db.json' ]; then \
	  src=$$($(GO) mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	  test -n "$$src" || { echo "vulncheck: cannot download golang.org/x/vulndb@$(VULNDB_VERSION)" >&2; exit 1; }; \
	  echo "vulncheck: building the database from $$src into $(VULNDB_DIR)"; \
	  rm -rf '$(VULNDB_DIR)' && mkdir -p '$(VULNDB_DIR)' && \
	  $(GO) run golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION) -vulns "$$src/data/osv" -out '$(VULNDB_DIR)'; \
	fi
	$(GOVULNCHECK) -db 'file://$(VULNDB_DIR)' ./...

image-test: ## build the container image with local stand-ins and check it (needs root and dockerd; else skipped loudly)
	STAND_INS='$(STAND_INS)' VERSION='$(VERSION)' bash .ci/image-test

check: lint vulncheck test-race ## what CI checks, quickly

ci: ## the full CI script (starts services, race, coverage, fuzz, smoke)
	bash .ci/run

.PHONY: services test-scaleout
services: ## start PgBouncer (transaction pooling, :6432) and a Redis Cluster (:7000-7002) for the scale-out tests
	bash .ci/services

test-scaleout: ## the PostgreSQL and Redis tests again through PgBouncer and on the Redis Cluster
	eval "$$(bash .ci/services)" && AUTH_TEST_POSTGRES_URL='$(PG_URL)' AUTH_TEST_REDIS_URL='$(REDIS_URL)' \
	  $(GO) test ./internal/sqlstore/ ./internal/lockout/ ./internal/ratelimit/ ./internal/redisconn/ ./cmd/authserve/
