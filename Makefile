# Everything creates and uses the virtual environment in .venv/ on its own.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-output
PYTEST_ARGS ?=

.PHONY: all venv test demo bench clean

all: test

$(STAMP): pyproject.toml
	@test -x $(PY) || "$$(scripts/find-python)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pip install --quiet --no-deps odc-stats==1.9.14
	# odc-stats installs a console script of the same name: put ours back
	$(PY) -m pip install --quiet --no-deps --force-reinstall -e .
	@touch $@

venv: $(STAMP)

test: $(STAMP)
	scripts/with-postgres $(PY) -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	$(PY) -m statscore.demo --out $(DEMO_DIR)

bench: $(STAMP)
	$(PY) -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache build *.egg-info
