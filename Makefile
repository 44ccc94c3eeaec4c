# The README's commands. Every target sets up what it needs, so a fresh clone needs nothing else.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard network/translations/*/LC_MESSAGES/messages.po))

.PHONY: run test test-postgres bench bench-postgres loadtest audit lint format translations extract-messages chromium install clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]" 2>&1 \
		| grep -v "is ignored" || true
	@$(BIN)/python -c "import flask, whoosh, playwright" # fail here if the install did not work
	@touch $(STAMP)

install: $(STAMP)

network/translations/%/LC_MESSAGES/messages.mo: network/translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@ -l $* --statistics

translations: $(STAMP) $(CATALOGUES)

extract-messages: $(STAMP)  ## refresh the catalogues after changing user-facing text
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o network/translations/messages.pot --no-location --sort-output --ignore-dirs ".* __pycache__ .venv" --project redglobal .
	$(BIN)/pybabel update -i network/translations/messages.pot -d network/translations --no-fuzzy-matching

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
	pg_virtualenv -t sh -c 'SEARCH_BACKEND=postgres TEST_DATABASE_URL=postgresql+psycopg:// $(BIN)/pytest $(PYTEST_ARGS)'

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

# gunicorn (2 workers) on the bench database, driven by ApacheBench: 50 clients, a fixed number
# of requests per endpoint, at most 60 s. Needs `make bench` once (the 100,000-member corpus).
loadtest: translations
	@command -v ab >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq apache2-utils; \
		else echo "The load test needs ApacheBench: run 'sudo apt-get install apache2-utils'."; exit 1; fi; }
	$(BIN)/python -m network.loadtest $(LOAD_ARGS)

# Known vulnerabilities in the installed packages: pip-audit (in a venv of its own) against PyPI's
# advisory data. It needs pypi.org's per-release JSON API; where that cannot be reached (this
# project's build machine has a mirror that serves only per-project JSON, and no OSV) it says
# loudly that no audit was made, rather than report "no known vulnerabilities" about packages
# it could not look up (`--strict`).
AUDIT_VENV := instance/audit-venv
audit: $(STAMP)
	@if $(BIN)/python -c "import pip, urllib.request as u; u.urlopen(f'https://pypi.org/pypi/pip/{pip.__version__}/json', timeout=5)" 2>/dev/null; then \
		test -x $(AUDIT_VENV)/bin/pip-audit || { $(PYTHON) -m venv $(AUDIT_VENV) && $(AUDIT_VENV)/bin/pip install --quiet pip-audit; }; \
		$(BIN)/pip freeze --exclude-editable > $(AUDIT_VENV)/requirements.txt; \
		$(AUDIT_VENV)/bin/pip-audit --strict --no-deps --disable-pip -r $(AUDIT_VENV)/requirements.txt; \
	else \
		echo "DEPENDENCY AUDIT NOT RUN: pypi.org's advisory data cannot be reached from this machine."; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) instance tests/browser/artifacts
	find . -name '*.mo' -delete
