# The project's verbs. `make run` and `make test` are the two commands of the README.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck proto proto-check unit integration bench faults fuzz clean \
	deploy-tools deploy-check

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

## run: the whole system locally: embedded broker, SQLite, three services, demo traffic
run: $(STAMP)
	$(VENV)/bin/corridor run $(ARGS)

## test: lint, types, contract freshness, the short fault suite and fuzzing, then
## the unit, integration and e2e tests
test: $(STAMP) lint typecheck proto-check
	$(PY) -m bench.faults --quick
	$(PY) -m bench.fuzz --quick
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy libs/corridor services tests bench examples

## proto: regenerate libs/corridor/v1 from proto/
proto: $(STAMP)
	PYTHON=$(PY) scripts/gen_proto.sh libs

## proto-check: fail when the generated code is stale
proto-check: $(STAMP)
	rm -rf build/proto-check && mkdir -p build/proto-check
	PYTHON=$(PY) scripts/gen_proto.sh build/proto-check
	diff -r --exclude=__pycache__ libs/corridor/v1 build/proto-check/corridor/v1 \
	  || (echo "generated protobuf code is stale: run 'make proto'" && exit 1)

## bench: ingest, tracker, end-to-end and memory figures side by side (docs/performance.md)
bench: $(STAMP)
	$(PY) -m bench.run $(ARGS)

## faults: every fault scenario under load, each reconciled (docs/reliability.md)
faults: $(STAMP)
	$(PY) -m bench.faults

## fuzz: schemathesis over every endpoint, bad records on cargo.events.v1
fuzz: $(STAMP)
	$(PY) -m bench.fuzz

## deploy-tools: install docker compose, kubectl, promtool (deploy checks) and buf (proto checks)
deploy-tools: $(STAMP)
	PYTHON=$(PY) scripts/install_deploy_tools.sh

## deploy-check: offline checks of docker-compose.yml, k8s/ and deploy/
deploy-check: $(STAMP)
	PYTHON=$(PY) scripts/check_deploy.sh

unit: $(STAMP)
	$(PY) -m pytest tests/unit

integration: $(STAMP)
	$(PY) -m pytest tests/integration

clean:
	rm -rf $(VENV) build .corridor-data .mypy_cache .ruff_cache .pytest_cache
