# Atrium — two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
VENDOR := static/vendor/htmx.min.js

.PHONY: run test test-soak test-postgres install vendor lint typecheck pytest migrate seed clean bench bench-scaleout

run: install vendor
	$(BIN)/atrium migrate
	$(BIN)/atrium import pages/
	$(BIN)/atrium user ensure-admin
	$(BIN)/atrium serve

test: install vendor lint typecheck pytest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# htmx is pinned in package-lock.json and fetched from the npm registry; nothing vendored in git.
$(VENDOR): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
	cp node_modules/htmx.org/LICENSE static/vendor/htmx.LICENSE

vendor: $(VENDOR)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy app tests

pytest: install vendor
	$(BIN)/pytest -m "not soak"

# many clients, SIGKILL mid-write, full and read-only disks, API fuzzing: a few minutes
test-soak: install vendor
	$(BIN)/pytest -m soak

# the scale-out path: the HTTP, browser, CLI and security tests again with PostgreSQL and its
# search backend behind the `settings` fixture (unit tests run on both databases in `make test`
# whenever ATRIUM_TEST_DATABASE_URL is set); needs ATRIUM_TEST_DATABASE_URL
test-postgres: install vendor
	ATRIUM_TEST_BACKEND=postgres $(BIN)/pytest -m "not soak" tests/http tests/browser tests/cli tests/security

# issue #8: Atrium served as a user would, a static baseline and An Otter Wiki, one run.
# Small data set by default (a few minutes); BENCH_SIZE=full for 10,000 pages. wrk comes
# from Debian's packages (installed when missing); results in bench/results/ (git-ignored).
bench: install vendor
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench.server_bench

# PostgreSQL (database atrium_bench), 1 vs 2 workers, two servers behind nginx
bench-scaleout: install vendor
	$(BIN)/python -m bench.scaleout

clean:
	rm -rf $(VENV) node_modules static/vendor data
