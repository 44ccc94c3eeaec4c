# The README's commands. Every target sets up what it needs, so a fresh clone needs nothing else.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard network/translations/*/LC_MESSAGES/messages.po))
# uv, where there is one: on the PATH, or the one the lock installs into the venv (USE_UV=no: pip only).
USE_UV ?= yes
UV = $(if $(filter no,$(USE_UV)),,$(or $(shell command -v uv),$(wildcard $(BIN)/uv)))
# Never let uv fetch a Python of its own: the venv's is the one.
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test test-postgres bench bench-postgres loadtest audit lint format translations extract-messages chromium install lock clean

# The environment is requirements.lock (every package pinned, with its hashes, no download addresses),
# then the project itself, editable. uv installs it in seconds; uv itself comes from the lock
# (hash-checked) unless one is on the PATH. Without uv, pip does the same, more slowly.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@uv="$(UV)"; \
	if [ -z "$$uv" ] && [ "$(USE_UV)" != no ]; then \
		awk '/^uv==/ {keep=1; print; next} keep && /^ / {print; next} {keep=0}' requirements.lock > $(VENV)/uv.txt; \
		$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(VENV)/uv.txt 2>&1 | grep -v "is ignored"; \
		test -x $(BIN)/uv && uv=$(BIN)/uv; \
	fi; \
	if [ -n "$$uv" ]; then \
		echo "Installing requirements.lock with uv"; \
		$$uv pip install --quiet --python $(BIN)/python --require-hashes -r requirements.lock \
		&& $$uv pip install --quiet --python $(BIN)/python --no-deps -e .; \
	else \
		echo "Installing requirements.lock with pip"; \
		set -o pipefail; \
		$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock 2>&1 | { grep -v "is ignored" || true; } \
		&& $(BIN)/python -m pip install --quiet --no-deps -e . 2>&1 | { grep -v "is ignored" || true; }; \
	fi
	@$(BIN)/python -c "import flask, whoosh, playwright" # fail here if the install did not work
	@touch $(STAMP)

# Refresh requirements.lock after changing the dependencies in pyproject.toml. Pins already in the
# lock are kept where they still fit; LOCK_ARGS=--upgrade moves everything to the newest releases.
lock:
	@uv="$(UV)"; if [ -z "$$uv" ]; then \
		test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); \
		$(BIN)/python -m pip install --quiet uv 2>&1 | grep -v "is ignored"; uv=$(BIN)/uv; \
	fi; \
	$$uv pip compile --quiet --universal --generate-hashes --extra dev \
		--custom-compile-command "make lock" $(LOCK_ARGS) pyproject.toml -o requirements.lock
	@! grep -nE '://|--(extra-)?index-url|--find-links' requirements.lock || \
		{ echo "requirements.lock names a download address: remove it"; exit 1; }

install: $(STAMP)

network/translations/%/LC_MESSAGES/messages.mo: network/translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@ -l $* --statistics

translations: $(STAMP) $(CATALOGUES)

extract-messages: $(STAMP)  ## refresh the catalogues after changing user-facing text
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o network/translations/messages.pot --no-location --sort-output --ignore-dirs ".* __pycache__ .venv" --project redglobal .
	$(BIN)/pybabel update -i network/translations/messages.pot -d network/translations --no-fuzzy-matching

# Links in e-mails that periodic jobs queue point at the port served here.
run: export BASE_URL ?= http://127.0.0.1:$(PORT)
run: translations
	$(FLASK) db upgrade
	$(FLASK) vocabulary load
	$(FLASK) demo seed
	$(FLASK) search reindex --if-empty
	$(FLASK) demo logins
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

chromium:
	@if ! command -v chromium >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else \
			echo "Browser tests need Debian's Chromium: run 'sudo apt-get install chromium'."; \
		fi; \
	fi

test: translations chromium
	$(BIN)/pytest $(PYTEST_ARGS)

# The same suite against a throwaway PostgreSQL cluster, searching with the PostgreSQL backend
# (SEARCH_BACKEND=postgres): the search contract tests run on both backends. pg_virtualenv
# exports PG* variables that a bare postgresql+psycopg:// URL picks up.
test-postgres: translations chromium
	@command -v pg_virtualenv >/dev/null || { echo "Install Debian's postgresql and postgresql-common first."; exit 1; }
	@# -t: the cluster lives in a temporary directory even as root, so a run killed midway
	@# leaves nothing in /etc/postgresql for the next one to trip over.
	@# The documented commands run as subprocesses with the default configuration (their test
	@# clears DATABASE_URL and SEARCH_*), so they are the same here as in `make test`: not twice.
	pg_virtualenv -t sh -c 'SEARCH_BACKEND=postgres TEST_DATABASE_URL=postgresql+psycopg:// $(BIN)/pytest --ignore=tests/test_documented_commands.py $(PYTEST_ARGS)'

# Seeds 100,000 synthetic members into instance/bench/ (never the development database), rebuilds
# the index, times a fixed query mix against SQLite FTS5, prints the table and writes
# instance/bench/results.json. BENCH_ARGS="--members 5000" for a quick look.
bench: translations
	$(BIN)/python -m search.bench $(BENCH_ARGS)

# The same, plus the PostgreSQL search backend's figures beside Whoosh's, on a throwaway cluster
# (or give your own: make bench BENCH_ARGS="--postgres postgresql+psycopg://..."; it is emptied).
bench-postgres: translations
	@command -v pg_virtualenv >/dev/null || { echo "Install Debian's postgresql and postgresql-common first."; exit 1; }
	pg_virtualenv -t sh -c '$(BIN)/python -m search.bench --postgres postgresql+psycopg:// $(BENCH_ARGS)'

# gunicorn (2 workers, loopback) on the bench database, played by locust (dev extra): members,
# organisations and IME sign in through the form and do a weighted mix; one user, 50 users in a
# closed loop and 10 requests/s, each with the page cache off and on, each measured (at most
# 2 minutes) once its users have signed in; about 8 minutes in all. Needs `make bench` once.
# LOAD_ARGS="--modes single --cache off --duration 30"; see python -m network.loadtest --help.
loadtest: translations
	$(BIN)/python -m network.loadtest $(LOAD_ARGS)

# Known vulnerabilities in the locked packages: pip-audit --strict (in a venv of its own) on
# requirements.lock. Where no advisory data can be reached, every package fails to be looked up:
# then it says plainly that no audit was made (exit 0) instead of "no known vulnerabilities".
# Any finding fails.
AUDIT_VENV := instance/audit-venv
audit: $(STAMP)
	@test -x $(AUDIT_VENV)/bin/pip-audit || { \
		$(PYTHON) -m venv $(AUDIT_VENV) && \
		$(AUDIT_VENV)/bin/pip install --quiet pip-audit 2>&1 | { grep -v "is ignored" || true; }; }
	@out=$$($(AUDIT_VENV)/bin/pip-audit --strict --require-hashes --disable-pip --progress-spinner off \
		-r requirements.lock 2>&1); status=$$?; \
	if [ $$status = 0 ]; then echo "$$out"; \
	elif grep -q "known vulnerabilit" <<<"$$out"; then echo "$$out"; exit 1; \
	elif grep -qiE "could not be audited|connection|resolve|timed out|Traceback" <<<"$$out"; then \
		echo "DEPENDENCY AUDIT NOT RUN: pip-audit could not reach any advisory data from this machine,"; \
		echo "so no package was checked (this is not a clean result)."; \
	else echo "$$out"; exit $$status; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports  # the layering rules of ARCHITECTURE.md, as contracts in pyproject.toml

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) instance tests/browser/artifacts
	find . -name '*.mo' -delete
