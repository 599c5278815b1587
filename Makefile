# The two commands a newcomer runs: `make run` and `make test`.
# Both set everything up on a fresh machine first (virtual environment, dependencies).

# Python 3.12 or newer (tools/find-python says why not 3.11).
PYTHON ?= $(shell tools/find-python)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test drills lint bench setup browser messages clean fuzz-api rehearsal cluster cluster-stop cluster-status drill restore-drill

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -n "$(PYTHON)" || { echo "No Python 3.12 or newer found" >&2; exit 1; }
	@# A virtual environment left by an older Python is made again.
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null || rm -rf $(VENV)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $(STAMP)

# Mailed links (an applicant's confirmation, a clerk's invitation) point at the address
# served here, `make run PORT=8108` too, unless STEMMA_BASE_URL says otherwise.
run: $(STAMP)
	$(BIN)/stemma migrate
	STEMMA_BASE_URL="$${STEMMA_BASE_URL:-http://$(HOST):$(PORT)}" $(BIN)/stemma demo
	STEMMA_BASE_URL="$${STEMMA_BASE_URL:-http://$(HOST):$(PORT)}" $(BIN)/stemma serve --host $(HOST) --port $(PORT)

# Debian's Chromium for the browser tests (never a browser download), and what they take
# from npm (axe-core, the accessibility rules): exactly the versions and hashes of
# package-lock.json, no install scripts run.
NODE_STAMP := node_modules/.installed-stamp

browser: $(NODE_STAMP)
	@test -x /usr/bin/chromium || sh tools/install-chromium.sh

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing (Node.js 18 or newer)" >&2; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund
	touch $(NODE_STAMP)

# Tests across the cores (pytest-xdist), at most TEST_WORKERS_MAX of them; each worker
# has its own database. `make test TEST_WORKERS=0` runs them in this process alone, and
# ARGS passes anything else on (`make test ARGS='-m "not browser"'`).
# The drills (tests marked `drill`: the command line and server processes started,
# killed and stopped, the form fuzzer) take minutes: `make test` leaves them out and
# `make drills` runs them alone (CI runs both).
TEST_WORKERS ?= auto
TEST_WORKERS_MAX ?= 4
# Python keeps the code it compiled (__pycache__, ignored by git) even where the shell
# says PYTHONDONTWRITEBYTECODE: without it every worker, and each worker's prestarted
# server interpreter, compiled the app and rewrote every test module's asserts again,
# some 11 s of CPU each, every run.
PYTEST_ACROSS_CORES = env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -n $(TEST_WORKERS) --maxprocesses $(TEST_WORKERS_MAX) --dist worksteal

test: $(STAMP) browser
	$(PYTEST_ACROSS_CORES) --skip-drills $(ARGS)

drills: $(STAMP)
	$(PYTEST_ACROSS_CORES) -m drill $(ARGS)

# Schemathesis over the API's OpenAPI document, against the real app on a fresh database
# with the demo (tools/fuzz_api.py): every check and phase, a fixed seed. On PostgreSQL
# when STEMMA_TEST_DATABASE_URL is set. `make fuzz-api ARGS=--smoke`: 5 examples an operation.
fuzz-api: $(STAMP)
	$(BIN)/python tools/fuzz_api.py $(ARGS)

# The election-day rehearsal at a tiny scale (bench/rehearsal; tests/test_rehearsal.py) on
# PostgreSQL (STEMMA_TEST_DATABASE_URL; it makes <name>_rehearsal beside it), with a Redis
# server of its own: minutes long, so not part of `make test`. Larger:
# `make bench ARGS="--only rehearsal --database-url ... --scale 0.05 --minutes 2"`.
rehearsal: $(STAMP)
	$(BIN)/pytest -p no:xdist -m rehearsal tests/test_rehearsal.py $(ARGS)

# The cluster on one machine (docs/cluster.md): 3 etcd, 3 Patroni PostgreSQL members
# (synchronous), Redis with Sentinel, HAProxy before two `stemma serve`, under var/cluster/.
# Debian's packages are installed when missing (tools/install-cluster.sh, as root).
cluster: $(STAMP)
	sh deploy/cluster/cluster.sh start

cluster-stop:
	sh deploy/cluster/cluster.sh stop

cluster-status:
	sh deploy/cluster/cluster.sh status

# The fault drill against that cluster (started and stopped when not running): check-ins
# at 50 a second through HAProxy while the PostgreSQL primary, the Redis master and one
# instance are killed (deploy/cluster/drill.py).
drill: $(STAMP)
	nice -n 19 $(BIN)/python deploy/cluster/drill.py $(ARGS)

# The restore drill (deploy/cluster/restore_drill.py): a full pgBackRest backup and the
# archived WAL restored to a named point into a fresh instance (port 5444), compared with
# the original table by table (rows and checksums); var/restore-drill.json.
restore-drill: $(STAMP)
	nice -n 19 $(BIN)/python deploy/cluster/restore_drill.py $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python tools/check_sizes.py app bench

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

# Refresh the translation catalogues after changing user-facing strings.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -o app/translations/messages.pot --no-location --sort-output --omit-header .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --omit-header --width 100

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
