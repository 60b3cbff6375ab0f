# afcheck: `make demo` runs the main job on the local backend; `make test` runs the tests.
# Each target sets up what it needs (.venv with the project and its dev extras, Toxiproxy).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# --max-worker-restart 0: under --dist loadgroup, pytest-xdist 3.8 hangs for good after it
# replaces a crashed worker; a crashed worker must fail the run, not stall it
PYTEST := $(VENV)/bin/pytest -n 2 --dist loadgroup --max-worker-restart 0

.PHONY: setup demo test lint typecheck unit nemesis-short docker-tier nemesis soak soak-smoke bench fuzz images clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)
	bash tools/install-toxiproxy.sh
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
		bash tools/install-arangojs.sh; \
	else echo "setup: no node/npm: afcheck run --client arangojs will skip"; fi

# a `set` workload under `partition-leader` on a local async cluster; prints the report path
demo: setup
	$(PY) -m harness.cli.demo

lint: $(STAMP)
	$(VENV)/bin/ruff check cluster harness workloads nemesis reports tests
	$(VENV)/bin/ruff format --check cluster harness workloads nemesis reports tests
	$(VENV)/bin/lint-imports
	bash tools/install-actionlint.sh
	tools/bin/actionlint

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# unit and integration tests (docker ones skip without a daemon, except under CI=true)
unit: setup
	$(PYTEST) tests

# a short profile of every nemesis family on the local backend
nemesis-short: setup
	$(PYTEST) nemesis --profile short

# partition, kill and pause on the docker backend, when a daemon answers (always under CI=true)
docker-tier: setup
	@if docker info >/dev/null 2>&1 || [ "$${CI:-}" = "true" ]; then \
		$(VENV)/bin/afcheck images build --quiet && \
		$(PYTEST) nemesis --profile short --backend docker -k "partition or kill or pause or isolate"; \
	else echo "docker-tier: skipped: no Docker daemon answers (start one, or run .ci/run)"; fi

test: lint typecheck unit nemesis-short docker-tier soak-smoke

# ~3 minutes: two shards of one soak plan with short rounds, merged; checks the index,
# junit.xml and the storage bounds (tools/nightly.sh smoke)
soak-smoke: setup
	bash tools/nightly.sh smoke

# the full nemesis suites (each family, every workload and mode)
nemesis: setup
	$(PYTEST) nemesis --profile full

images: setup
	$(VENV)/bin/afcheck images build

bench: setup
	$(PY) -m harness.bench all

# 10,000 generated requests per kind against a local cluster's agency and servers (loopback
# only, bounded in time); every figure (5xx, crashes, elections, changed documents) must be 0
fuzz: setup
	$(PY) -m harness.bench fuzz --count 10000 --time-limit 900

clean:
	rm -rf $(VENV) store tools/bin tools/gopath
