# Coffer — see README.md. `make run` starts a node; `make test` runs everything.
GO       ?= go
BIN      := bin/coffer
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.Version=$(VERSION)
DATA_DIR ?= data
MYSQL_ADDR ?= 127.0.0.1:3306
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Packages whose tests run under the race detector (concurrency-heavy).
RACE_PKGS := ./storage/... ./sql/txn/... ./sql/engine/... ./wire/... ./server/...

.PHONY: build run test test-deps lint bench clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/coffer

run: build
	$(BIN) serve --data-dir $(DATA_DIR) --mysql-addr $(MYSQL_ADDR)

# Client tools the system tests drive (mysql CLI, PyMySQL, psql, psycopg2,
# SQLAlchemy, Django, node and the npm pg package); installed once.
NODE_PG_DIR := wire/pgwire/testdata/node
test-deps:
	@sh tests/deps.sh
	@[ -f $(NODE_PG_DIR)/node_modules/pg/package.json ] || { echo "installing the npm pg package into $(NODE_PG_DIR)/node_modules"; \
	  cd $(NODE_PG_DIR) && npm ci --no-audit --no-fund --loglevel=error; }

# go-mysql-server's engine suites (sql/enginetest) run once, through
# count.sh, which prints their pass/fail/skip counts and fails on a failure.
test: test-deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 25m $$($(GO) list ./... | grep -v '/sql/enginetest$$')
	$(GO) test -count=1 -race -timeout 15m $(RACE_PKGS)
	sql/enginetest/count.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags ego,ego_mock_eclient ./...
	$(GO) run $(STATICCHECK) ./...

# QUICK=1: ≈2½-minute smoke run. PROFILE=workload:threads,… or none; BENCH_FLAGS: any other coffer-bench flag.
bench: build
	$(GO) run ./bench/cmd/coffer-bench -coffer-bin $(BIN) $(if $(QUICK),-quick) $(if $(PROFILE),-profile $(PROFILE)) $(BENCH_FLAGS)

clean:
	rm -rf bin
