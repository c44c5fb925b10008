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

# The parts of `make test`; each runs even when another failed (tests/test_makefile.py replaces them to
# check that), so one red run shows every failure at once. The system tests (whole systems started as
# processes, mostly waiting on them) run beside the service tests and then the browser tests, which have
# a pytest process of their own (Playwright cannot run under eventlet): two cores kept busy instead of
# one. The side's output is printed when both sides are done; Ctrl-C stops both.
TEST_LINT ?= $(MAKE) --no-print-directory lint
TEST_SYSTEM ?= $(PY) -m pytest tests
TEST_SERVICES ?= $(PY) -m pytest shared services
TEST_BROWSER ?= PORTAL_BROWSER_TESTS=1 $(PY) -m pytest tests/browser

## make test: ruff, mypy and every test against real servers; the browser tests in their own process
test: $(STAMP) machine tools
	@failed=""; \
	$(TEST_LINT) || failed="$$failed lint"; \
	side=$$(mktemp -d); \
	trap 'trap - INT TERM; kill -TERM 0' INT TERM; \
	{ { $(TEST_SERVICES); } > $$side/services.log 2>&1; echo $$? > $$side/services.rc; \
	  { $(TEST_BROWSER); } > $$side/browser.log 2>&1; echo $$? > $$side/browser.rc; } & \
	$(TEST_SYSTEM) || failed="$$failed system-tests"; \
	wait; \
	echo "--- service tests (run beside the system tests)"; cat $$side/services.log; \
	test "$$(cat $$side/services.rc)" = 0 || failed="$$failed service-tests"; \
	echo "--- browser tests (run beside the system tests, after the service tests)"; cat $$side/browser.log; \
	test "$$(cat $$side/browser.rc)" = 0 || failed="$$failed browser-tests"; \
	rm -rf $$side; \
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
