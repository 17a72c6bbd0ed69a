# ferrokeeper — build, run and test.
#
#   make test   everything CI runs: installs what it needs (Debian packages,
#               a Python virtualenv), then fmt, clippy, unit/integration tests,
#               release build and the compatibility tests (compat-tests/)
#   make run    the server, standalone, on port 2181 with data in ./data
#
# Works as root on a fresh Debian 12 with Rust, cargo-nextest and python3.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

CARGO      ?= cargo
PYTHON     ?= python3
VENV       := compat-tests/.venv
VENV_PY    := $(VENV)/bin/python
PYTEST_ARGS ?=
# Debian packages the compatibility tests use: Apache ZooKeeper 3.8 (the
# oracle, zkCli.sh), the C client shell cli_mt and Apache Curator (its
# recipes are driven by compat-tests/java/CuratorScenarios.java, which
# test_curator.py compiles: javac comes from default-jdk-headless, below),
# the servlet API ZooKeeper's AdminServer needs, and Go with the Go client
# (compat-tests/go/scenarios.go, built by test_go_client.py)
APT_PACKAGES := zookeeper zookeeper-bin libcurator-recipes-java libcurator-framework-java libservlet-api-java libnetty-java openssl \
	golang-go golang-github-samuel-go-zookeeper-dev
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: test run build release fmt fmt-check clippy unit compat compat-zookeeper \
        deps apt-deps venv clean-venv help

help:
	@sed -n '2,9p' Makefile

test: deps fmt-check clippy unit release compat

run:
	$(CARGO) run --release

build:
	$(CARGO) build

release:
	$(CARGO) build --release --quiet

fmt:
	$(CARGO) fmt

fmt-check:
	$(CARGO) fmt --check

clippy:
	$(CARGO) clippy --quiet --all-targets -- -D warnings

# cargo-nextest when installed, cargo test otherwise
unit:
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		echo "$(CARGO) nextest run --no-tests=warn"; \
		$(CARGO) nextest run --no-tests=warn; \
	else \
		echo "$(CARGO) test"; \
		$(CARGO) test; \
	fi

# compatibility tests: stock clients against target/release/ferrokeeper,
# and differential tests against Apache ZooKeeper
compat: deps release
	cd compat-tests && .venv/bin/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

# the same suite against Apache ZooKeeper only (checks the harness itself)
compat-zookeeper: deps
	cd compat-tests && .venv/bin/python -m pytest -p no:cacheprovider --servers=zookeeper $(PYTEST_ARGS)

deps: apt-deps venv

# install the Debian packages only when something is missing
apt-deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	command -v java >/dev/null 2>&1 || missing="$$missing default-jre-headless"; \
	command -v javac >/dev/null 2>&1 || missing="$$missing default-jdk-headless"; \
	$(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: compat-tests/requirements.txt
	@test -x $(VENV_PY) || $(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install --quiet --disable-pip-version-check -r compat-tests/requirements.txt
	@touch $@

clean-venv:
	rm -rf $(VENV)

# side-by-side benchmark with Apache ZooKeeper 3.8 (Debian's, installed if
# missing): alternating runs, medians and ferrokeeper/ZooKeeper ratios.
# Settings via environment, see bench/compare.sh (ROUNDS, DURATION, ...).
.PHONY: bench-compare
bench-compare:
	bench/compare.sh

# scale, memory, recovery and durable-write figures, both servers (issue 3
# part 3): RSS with 1M znodes, restart time after SIGTERM / kill -9, RSS per
# idle session (10,000), set-heavy with forceSync=yes vs no. About 10 minutes.
# Settings via environment, see bench/scale.sh (NODES, IDLE_SESSIONS, PHASES, ...).
.PHONY: bench-scale bench-all
bench-scale:
	bench/scale.sh

# both: the side-by-side workloads, then the scale figures
bench-all: bench-compare
	SKIP_BUILD=1 bench/scale.sh
