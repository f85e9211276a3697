# Syphon Executor — two commands do everything on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# Debian packages the project builds, tests and benchmarks against.
DEBIAN_PACKAGES := pkg-config libsqlite3-dev libssl-dev libcurl4-openssl-dev libgmp-dev \
                   libsecp256k1-dev nettle-dev libfftw3-dev postgresql
SWIFT ?= swift
BIN := .build/release/syphon-executor
RUN_ARGS ?= serve

# The loopback EVM devnode of the tests and the demo (py-evm through alysis), the reference signer
# (eth-account) and the compiler of the mock Entrypoint (Vyper), in one venv from PyPI.
EVM_VENV := .venv-evm
EVM_PACKAGES := alysis==0.6.3 py-evm==0.12.1b1 eth-account==0.14.0 vyper==0.4.3

FUZZ_RUNS ?= 1000000
FUZZ_TARGETS := radix boolean clientkey serverkey hex native json hermes chain pyth custody

.PHONY: all deps build run test bench fuzz devnode clean

all: build

## deps: install the Debian packages that are missing (apt-get update first, only when needed).
deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	else echo "Debian packages: all present"; fi

## $(EVM_VENV): the devnode's Python environment (12 s from wheels; made once).
$(EVM_VENV)/.installed:
	python3 -m venv $(EVM_VENV)
	$(EVM_VENV)/bin/pip install -q --disable-pip-version-check $(EVM_PACKAGES)
	touch $@

## devnode: a loopback EVM node on 127.0.0.1:8545 with the mock Entrypoint deployed (Ctrl-C stops it).
devnode: $(EVM_VENV)/.installed
	$(EVM_VENV)/bin/python Tests/Fixtures/chain/evm-devnode.py --port 8545 --deploy Tests/Fixtures/chain/MockEntrypoint.json

## build: release build of the syphon-executor binary.
build: deps
	$(SWIFT) build -c release --product syphon-executor

## run: install, build and start the executor on embedded defaults.
run: build
	@echo "starting: $(BIN) $(RUN_ARGS)   (127.0.0.1:5002, SQLite ./strategies.db, public Hermes, in-process FHE)"
	@echo "first strategy: $(BIN) keygen --out keys && $(BIN) register-key --key keys --custody && \\"
	@echo "  $(BIN) payload --key keys --strategy LIMIT_BUY_DIP --lower 3800.00 --asset-in USDC --asset-out ETH \\"
	@echo "  --amount 1 --recipient 0x1111111111111111111111111111111111111111 | \\"
	@echo "  curl -s -H 'Content-Type: application/json' -d @- http://127.0.0.1:5002/createStrategy"
	$(BIN) $(RUN_ARGS)

## test: every test target (Swift Testing); prints the summary line, fails on any failure. The
## chain tests start their own devnodes (free loopback ports) and stop them; the order book's
## shared suite and the cluster test run on a throwaway PostgreSQL cluster under .build/pg, started
## here and stopped whatever the outcome.
PG_TEST_DIR := .build/pg
test: deps $(EVM_VENV)/.installed
	@$(SWIFT) build --build-tests 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' || { echo "build failed"; exit 1; }
	@pg_uri=$$(Tests/Fixtures/postgres/cluster.sh start $(PG_TEST_DIR)); trap 'Tests/Fixtures/postgres/cluster.sh stop $(PG_TEST_DIR)' EXIT; \
	echo "PostgreSQL test cluster: $$pg_uri"; \
	set +e; SYPHON_REQUIRE_DEVNODE=1 SYPHON_REQUIRE_POSTGRES=1 SYPHON_TEST_POSTGRES_URI=$$pg_uri \
	  $(SWIFT) test --skip-build --disable-xctest --no-parallel 2>&1 | tee .build/test.log | grep -E '^(✘|✔ Suite)' ; \
	status=$${PIPESTATUS[0]}; \
	grep -E 'Test run with' .build/test.log | tail -1; \
	if grep -q '^✘' .build/test.log; then grep '^✘' .build/test.log | head -50; status=1; fi; \
	exit $$status

## bench: the core benchmark table from the CLI (release build), then the package-benchmark suite.
bench: build
	$(BIN) bench core
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark

## fuzz: libFuzzer (with AddressSanitizer) over every decoder of untrusted input (tfhe-rs 0.5, native containers,
## request JSON, Hermes answers, chain data, Pyth accumulator updates), FUZZ_RUNS executions each,
## seeded from vectors/; findings are written to .build/fuzz/<target>/.
fuzz: deps
	cd Tests/Fuzz && $(SWIFT) build -c release -Xswiftc -sanitize=fuzzer,address
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p .build/fuzz/$$t; cp vectors/fuzz-seeds/$$t/* .build/fuzz/$$t/ 2>/dev/null || true; \
	  echo "== $$t"; \
	  FUZZ_TARGET=$$t Tests/Fuzz/.build/release/DecoderFuzzer -runs=$(FUZZ_RUNS) -max_len=70000 \
	    -artifact_prefix=.build/fuzz/$$t- .build/fuzz/$$t 2>&1 | grep -E "^Done|ERROR|crash|deadly" ; \
	done

clean:
	rm -rf .build Benchmarks/.build
