# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# Each creates .venv if it is missing and (re)installs the project only when
# pyproject.toml changed since the last install, so repeat runs start at once.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.clobsim-installed
export PYTHONHASHSEED ?= 0

.PHONY: demo test lint bench install clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/clobsim demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(VENV)/bin/python -m pytest -q --nbmake -p no:cacheprovider notebooks
	$(VENV)/bin/python -m pytest -n 2 -q

bench: $(STAMP)
	$(VENV)/bin/python -m benchmarks.run
	$(VENV)/bin/python -m benchmarks.sweep_scale

clean:
	rm -rf $(VENV) data/generated out .pytest_cache .ruff_cache
