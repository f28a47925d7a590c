# rampart.firewall — development targets. Everything installs what it needs first.
# `make test` is the one command CI runs (.ci/run); `make demo` starts the demo fleet.
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -euo pipefail -c

ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
export PATH := $(VENV)/bin:$(PATH)
export CONTAINERS_CONF := $(ROOT)/tests/containers.conf
export ANSIBLE_COLLECTIONS_PATH := $(ROOT)/.cache/collections
export MOLECULE_GLOB := molecule/*/molecule.yml
export PY_COLORS := 0
export NO_COLOR := 1
export ANSIBLE_FORCE_COLOR := 0
export ANSIBLE_NOCOLOR := 1

# Scenarios run by `make molecule` / `make test`, in this order.
SCENARIOS ?= $(sort $(filter-out shared,$(notdir $(wildcard molecule/*))))

.PHONY: bench test setup setup-user images unit sanity lint fuzz build molecule collection-link clean help

help:
	@echo "make test              everything CI runs: setup, unit, sanity, lint, build, molecule (root)"
	@echo "make unit              unit tests only (no root)"
	@echo "make sanity | lint | build"
	@echo "make galaxy | docs | matrix   galaxy-importer + ansible-builder, antsibull-docs, ansible-core 2.17/2.18"
	@echo "make changelog         CHANGELOG.rst from changelogs/fragments (antsibull-changelog)"
	@echo "make molecule          every scenario; make molecule-NAME for one (root, podman)"
	@echo "make bench             benchmark the ruleset engine against a container (root)"
	@echo "make images            build/refresh the test images (root)"

test:
	@scripts/test-all.sh

setup:
	@scripts/setup.sh

setup-user:
	@scripts/setup.sh --no-system

# The collection, reachable by FQCN from this checkout (ansible-doc, playbooks, molecule).
collection-link:
	@mkdir -p $(ANSIBLE_COLLECTIONS_PATH)/ansible_collections/rampart
	@ln -sfn $(ROOT) $(ANSIBLE_COLLECTIONS_PATH)/ansible_collections/rampart/firewall

images: setup
	@images/build.sh bookworm trixie bookworm-docker

unit: setup-user
	@python -m pytest tests/unit -q -p no:cacheprovider $(PYTEST_ARGS)

sanity: setup-user
	@scripts/sanity.sh $(SANITY_ARGS)

lint: setup-user collection-link
	@ansible-lint --profile production --offline

# The fuzz suite: every case runs a module directly in a throwaway net+mount+pid namespace (root).
fuzz: setup-user collection-link
	@python tests/fuzz/run.py $(FUZZ_ARGS)

build: setup-user
	@rm -rf .build && mkdir -p .build/install
	ansible-galaxy collection build --force --output-path .build .
	ansible-galaxy collection install --offline --force -p .build/install .build/rampart-firewall-*.tar.gz
	test -f .build/install/ansible_collections/rampart/firewall/MANIFEST.json
	ANSIBLE_COLLECTIONS_PATH=.build/install ansible-doc -l rampart.firewall

# The ecosystem's checks (own pinned venvs under .cache/, see tooling/README.md):
# galaxy: ansible-builder introspect/create and galaxy-importer (offline, flake8) on the tarball;
# docs: antsibull-docs lint-collection-docs --plugin-docs, changelog fragments and CHANGELOG.rst;
# matrix: unit + sanity on ansible-core 2.17 and 2.18 (MATRIX_VERSIONS), target Python 3.7.
.PHONY: galaxy docs matrix changelog
galaxy: setup-user
	@scripts/galaxy-check.sh

docs: setup-user
	@scripts/docs-check.sh

matrix: setup-user
	@scripts/matrix.sh

changelog: setup-user
	@scripts/changelog.sh

# Every scenario runs even when one fails; the failures are listed at the end.
molecule: images collection-link
	@scripts/molecule-all.sh $(SCENARIOS)

molecule-%: images collection-link
	@molecule test -s $*

clean:
	rm -rf .build .cache tests/output .pytest_cache .hypothesis

bench: images collection-link
	@python benchmarks/ruleset_bench.py $(BENCH_ARGS)

# ---- the demo: a small local fleet firewalled by playbooks/site.yml (demo/run.sh) ----
.PHONY: demo demo-clean
demo: images collection-link
	@demo/run.sh

demo-clean:
	@python3 scripts/fleet.py down demo/fleet.json
	@rm -rf .cache/demo
	@echo "demo fleet removed"
