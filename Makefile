# Everything creates and uses the virtual environment in .venv/ on its own.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-output
PYTEST_ARGS ?=

.PHONY: all venv test-env test test-debs demo bench clean synth vendor-leaflet images

all: test

$(STAMP): pyproject.toml
	@test -x $(PY) || "$$(scripts/find-python)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@# venvs made before the references moved out had them in site-packages: remove them (this
	@# also removes the odc-stats script they share with us, which the next line puts back)
	$(PY) -m pip uninstall --quiet --yes odc-stats odc-algo geomad 2>/dev/null || true
	$(PY) -m pip install --quiet -e .
	@touch $@

# The product alone: what a user installs (`odc-stats` on PATH is ours, `import odc.stats` fails).
venv: $(STAMP)

# Tests and benchmarks compare us with odc-stats 1.9.14 (and its odc-algo 1.2.2 and geomad
# 1.0.0). They are test references, not dependencies: a user's venv must not have them, and
# odc-stats' console script has our command's name. So they go, without their dependencies,
# into their own folder $(REFERENCE) that is on sys.path only inside pytest and benchmarks
# (tests/conftest.py, benchmarks/_reference.py) and on PYTHONPATH for a reference
# `python -m odc.stats` process; their runtime libraries come with the `test` extra.
# (`pip install odc-stats==1.9.14` also fails: it pins a certifi release PyPI does not have.)
REFERENCE := $(VENV)/reference
TEST_STAMP := $(VENV)/.installed-test
REFERENCE_PKGS := odc-stats==1.9.14 odc-algo==1.2.2 geomad==1.0.0

$(TEST_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[test]'
	rm -rf $(REFERENCE)
	$(PY) -m pip install --quiet --no-deps --target $(REFERENCE) $(REFERENCE_PKGS)
	@touch $@

test-env: $(TEST_STAMP)

# tests/images runs the built images as containers: build them first (seconds when nothing changed)
test: $(TEST_STAMP) node_modules/.package-lock.json test-debs images
	scripts/with-postgres $(PY) -m pytest $(PYTEST_ARGS)

# Debian packages the tests need: headless Chromium + chromedriver open the report page;
# gcc compiles the model-plugin tests' treelite models; PostGIS for pgstac (the tests' real STAC API)
test-debs:
	scripts/ensure-debs chromium chromium-driver gcc postgresql-15-postgis-3

demo: $(STAMP)
	$(PY) -m statscore.demo --out $(DEMO_DIR)

bench: $(TEST_STAMP)
	scripts/ensure-debs postgresql-15-postgis-3
	scripts/with-postgres $(PY) -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache build *.egg-info

# The CDK app: the aws-cdk CLI pinned in package-lock.json (2.1148.x matches aws-cdk-lib 2.275)
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# Leaflet for odc-stats report, copied from the npm package that package-lock.json pins into
# the package data (committed: the report needs no Node at run time; a test checks the copy)
vendor-leaflet: node_modules/.package-lock.json
	cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css statscore/ops/assets/
	cp node_modules/leaflet/LICENSE statscore/ops/assets/leaflet-LICENSE
	cp node_modules/leaflet/dist/images/*.png statscore/ops/assets/images/

$(VENV)/.installed-deploy: $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[deploy]'
	@touch $@

synth: $(VENV)/.installed-deploy node_modules/.package-lock.json
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CDK_DISABLE_VERSION_CHECK=1 npx --no-install cdk synth --quiet

# The deployment's two images, built here with buildah on local stand-ins of their bases
# (localhost/statscore-functions:dev, localhost/statscore-worker:dev; see scripts/build-images)
images: $(STAMP)
	PY=$(PY) scripts/build-images
