# The two commands of the README: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# checkov lives in its own environment: its dependencies would pull pytest and packaging below our pins.
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed

.PHONY: run test soak lint clean venv tools machine

# Create the virtual environment and install exactly the pinned dependencies (again when the lock changes).
$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(VENV)/bin/uv || $(PY) -m pip install --quiet --disable-pip-version-check uv==0.13.9
	@$(VENV)/bin/uv pip sync --quiet --python $(PY) requirements.lock
	@$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)

$(TOOLS_STAMP): deploy/k8s/tools/checkov.lock $(STAMP)
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	@$(VENV)/bin/uv pip sync --quiet --python $(TOOLS)/bin/python deploy/k8s/tools/checkov.lock
	@touch $(TOOLS_STAMP)

tools: $(TOOLS_STAMP)

## make run: the whole system on http://127.0.0.1:8000 (GATEWAY_PORT to change), state under ./run
run: $(STAMP)
	@$(PY) -m shared.system run

## make machine: the Debian packages make test needs (Chromium, clamd, RabbitMQ, podman...), installed when missing
machine: $(STAMP)
	@$(PY) -m shared.testing.machine

# The three parts of `make test`; each runs even when one before it failed (tests/test_makefile.py
# replaces them to check that), so one red run shows every failure at once.
TEST_LINT ?= $(MAKE) --no-print-directory lint
TEST_MAIN ?= $(PY) -m pytest
TEST_BROWSER ?= PORTAL_BROWSER_TESTS=1 $(PY) -m pytest tests/browser

## make test: ruff, mypy and every test against real servers, then the browser tests (their own process)
test: $(STAMP) machine tools
	@failed=""; \
	$(TEST_LINT) || failed="$$failed lint"; \
	$(TEST_MAIN) || failed="$$failed main-tests"; \
	$(TEST_BROWSER) || failed="$$failed browser-tests"; \
	if [ -n "$$failed" ]; then echo "make test failed:$$failed" >&2; exit 1; fi

## make soak: hunt flaky tests: 5 full `make test` runs, then 10 runs of each timing-sensitive folder beside
## a busy process per core; every run's output and a summary under run/soak/ (SOAK_ARGS="--full 0 --times 3")
soak: $(STAMP) machine tools
	@$(PY) -m shared.testing.soak $(SOAK_ARGS)

lint: $(STAMP)
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check --quiet . || { echo "ruff format would change files (run: $(VENV)/bin/ruff format .)"; exit 1; }
	@$(VENV)/bin/mypy

## make clean: remove the run folder (databases, objects, mail, logs of `make run`)
clean:
	@rm -rf run
	@echo "removed ./run"
