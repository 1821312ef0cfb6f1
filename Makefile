# Everything creates and uses the virtual environment in .venv/ on its own.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-output
PYTEST_ARGS ?=

.PHONY: all venv test test-debs demo bench clean synth vendor-leaflet images

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

# tests/images runs the built images as containers: build them first (seconds when nothing changed)
test: $(STAMP) node_modules/.package-lock.json test-debs images
	scripts/with-postgres $(PY) -m pytest $(PYTEST_ARGS)

# Debian packages the tests need: headless Chromium + chromedriver open the report page;
# gcc compiles the model-plugin tests' treelite models; PostGIS for pgstac (the tests' real STAC API)
test-debs:
	scripts/ensure-debs chromium chromium-driver gcc postgresql-15-postgis-3

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

# Leaflet for odc-stats report, copied from the npm package that package-lock.json pins into
# the package data (committed: the report needs no Node at run time; a test checks the copy)
vendor-leaflet: node_modules/.package-lock.json
	cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css statscore/ops/assets/
	cp node_modules/leaflet/LICENSE statscore/ops/assets/leaflet-LICENSE
	cp node_modules/leaflet/dist/images/*.png statscore/ops/assets/images/

synth: $(STAMP) node_modules/.package-lock.json
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CDK_DISABLE_VERSION_CHECK=1 npx --no-install cdk synth --quiet

# The deployment's two images, built here with buildah on local stand-ins of their bases
# (localhost/statscore-functions:dev, localhost/statscore-worker:dev; see scripts/build-images)
images: $(STAMP)
	PY=$(PY) scripts/build-images
