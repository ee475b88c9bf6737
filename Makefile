# Baton's task runner. `make` alone lists the recipes.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PORT ?= 8000

# The test suite runs against the real services; these are this machine's defaults.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/baton
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.DEFAULT_GOAL := help
.PHONY: help run test test-clocks test-sqlite screenshots lint format bench bench-webhooks bench-exports bench-imports install install-dev services clean

help: ## List the recipes
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Baton needs Python 3.11 ($(PYTHON) not found; set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(PY)
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(PY)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $(VENV)/.installed $@

install: $(VENV)/.installed ## Create .venv and install the app's dependencies

install-dev: $(VENV)/.installed-dev ## Install the app's and the test tools' dependencies

run: install ## Migrate, load demo data if empty, start web + worker + beat (Ctrl-C stops all)
	@mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --if-empty
	@echo ""
	@echo "  Baton is starting on http://localhost:$(PORT)/  (web, Celery worker and beat; Ctrl-C stops all)"
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" PORT=$(PORT) $(BIN)/honcho start -f Procfile.dev

services: ## Start this machine's PostgreSQL and Redis if they are down
	@./.ci/services

test: install-dev ## Lint, check, run the whole suite on PostgreSQL + Redis, then test-clocks
	@./.ci/browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(PY) manage.py check --settings=config.settings.test
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(PY) manage.py makemigrations --check --dry-run --settings=config.settings.test
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(BIN)/pytest $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory test-sqlite
	@$(MAKE) --no-print-directory test-clocks

test-clocks: install-dev ## Rerun the date-sensitive tests at 4 pinned clocks (midnight UTC, DST days, a Tokyo server)
	@./.ci/browser
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		PYTEST=$(BIN)/pytest ./.ci/test-clocks

test-sqlite: install-dev ## Rerun the reminder, outbox and report tests on SQLite (make run's database)
	PYTEST=$(BIN)/pytest ./.ci/test-sqlite

screenshots: install-dev ## Remake the README tour, docs/screenshots/*.png (desktop + phone): Chromium over the demo data
	@./.ci/browser
	$(PY) -m tests.screenshots

lint: install-dev ## ruff check and format check only
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev ## Fix what ruff can fix and format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install-dev ## Seed large data on PostgreSQL and load-test the pages (see README)
	@./.ci/services
	./bench/run.sh

bench-reminders: install-dev ## Reminder outbox benchmark: 1M check-ins, scan, claim, SMTP delivery (see README)
	@./.ci/services
	$(PY) bench/reminders.py $(BENCH_REMINDERS_ARGS)

bench-webhooks: install-dev ## Webhook delivery benchmark: 1,000 signed POSTs to a local receiver via the real worker
	@./.ci/services
	$(PY) bench/webhooks.py $(BENCH_WEBHOOKS_ARGS)

bench-imports: install-dev ## CSV import benchmark: 100,000 HubSpot deals with accounts and contacts via the real worker
	@./.ci/services
	$(PY) bench/imports.py $(BENCH_IMPORTS_ARGS)

bench-exports: install-dev ## Export benchmark: 100,000 deals as CSV and XLSX, time and memory (see README)
	@./.ci/services
	$(PY) bench/exports.py $(BENCH_EXPORTS_ARGS)

clean: ## Remove the virtualenv and local data (SQLite, broker folders)
	rm -rf $(VENV) var
