# afcheck: `make demo` runs the main job on the local backend; `make test` runs the tests.
# Each target sets up what it needs (.venv, the project with its dev extras, Toxiproxy).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)
	bash tools/install-toxiproxy.sh

demo: setup
	$(PY) -m harness.demo

lint: $(STAMP)
	$(VENV)/bin/ruff check cluster harness workloads nemesis reports tests
	$(VENV)/bin/ruff format --check cluster harness workloads nemesis reports tests

typecheck: $(STAMP)
	$(VENV)/bin/mypy

test: setup lint typecheck
	$(VENV)/bin/pytest -n 2 --dist loadgroup tests

bench: setup
	$(PY) -m harness.bench all

clean:
	rm -rf $(VENV) store tools/bin tools/gopath
