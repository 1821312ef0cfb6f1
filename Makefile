# Everything creates and uses the virtual environment in .venv/ on its own.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-output
PYTEST_ARGS ?=

.PHONY: all venv test demo bench clean synth

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

test: $(STAMP) node_modules/.package-lock.json
	scripts/ensure-debs postgresql-15-postgis-3  # PostGIS for pgstac: the tests' real STAC API
	scripts/with-postgres $(PY) -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	$(PY) -m statscore.demo --out $(DEMO_DIR)

bench: $(STAMP)
	scripts/ensure-debs postgresql-15-postgis-3
	scripts/with-postgres $(PY) -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache build *.egg-info

# The CDK app: the aws-cdk CLI pinned in package-lock.json (2.1148.x matches aws-cdk-lib 2.275)
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

synth: $(STAMP) node_modules/.package-lock.json
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CDK_DISABLE_VERSION_CHECK=1 npx --no-install cdk synth --quiet
