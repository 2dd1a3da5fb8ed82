# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
# The embedded install (`make run`, `make migrate`) reads no env file and runs the local profile
# whatever .env says (it may hold a production configuration). OAuth redirect URIs, webhook URLs
# and the sandbox's API base derive from PUBLIC_BASE_URL: keep it on the served port.
run migrate: export ENV_FILE := /dev/null
run migrate: export DJANGO_ENV := local
run migrate: export PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
# Its files (SQLite database, development secrets, demo login, sandbox credentials).
VAR ?= var
run migrate: export HITL_VAR_DIR := $(abspath $(VAR))
# `make run` is the development server by definition: no "do not use in production" banner.
run: export DJANGO_RUNSERVER_HIDE_WARNING := true
# pytest-xdist processes: most tests wait on live servers, workers and browsers, not the CPU.
TEST_WORKERS ?= 4

# The production env file: written by `make prod-env`, read by every production process
# (hitl_portal/env.py), `make prod` and `make manage`.
ENV_FILE ?= .env
PROD_HOST ?=
# The production commands run with the venv's gunicorn, celery and honcho first on PATH.
PROD := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho -e $(ENV_FILE)

.PHONY: run test lint format bench chaos migrate clean prod prod-env manage hubspot-live

$(VENV)/.runtime: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

migrate: $(VENV)/.runtime
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py ensure_demo_superuser
	@$(PY) manage.py sandbox_seed --json > $(VAR)/sandbox.json && \
	  echo "HubSpot sandbox ready: its demo app's credentials are in $(VAR)/sandbox.json;" && \
	  echo "  agent console: http://$(HOST):$(PORT)/sandbox/app/console/" && \
	  echo "  play the chatbot's user: http://$(HOST):$(PORT)/sandbox/app/chat/"
	@# No worker or beat in the embedded install: two small loops send due retries (callbacks to
	@# bots, assignment timeouts, and the sandbox's webhooks) and stop with the server.
	@trap 'kill 0' INT TERM EXIT; \
	  $(PY) manage.py deliver_callbacks --loop --interval 5 & \
	  $(PY) manage.py sandbox_deliver_webhooks --loop --interval 5 & \
	  $(PY) manage.py run_banner --base http://$(HOST):$(PORT) & \
	  $(PY) manage.py runserver $(HOST):$(PORT)

# Web (gunicorn), Celery worker and beat on this machine, in the foreground, from the Procfile.
# Checks the settings, database and broker first, then migrates and collects static files.
prod: $(VENV)/.runtime
	@test -f '$(ENV_FILE)' || { printf '%s\n' "$(ENV_FILE) not found. make prod runs the production profile: set DJANGO_ENV=production" \
	  "and the rest in it. Write one with fresh secrets: \`make prod-env\`, or copy .env.example to .env." >&2; exit 2; }
	@$(PROD) run python -m hitl_portal.preflight
	@$(PROD) run python manage.py migrate --noinput
	@$(PROD) run python manage.py collectstatic --noinput -v 0
	$(PROD) start --port $(PORT)

# A production env file (fresh secrets, never overwrites) from the values an operator has:
#   make prod-env PROD_HOST=hitl.example.com DATABASE_URL=postgres://… REDIS_URL=redis://host:6379
# (CELERY_BROKER_URL and CACHE_URL override what REDIS_URL implies.)
prod-env: $(VENV)/.runtime
	@ENV_FILE=/dev/null $(PY) -m hitl_portal.production_env --path '$(ENV_FILE)' $(if $(PROD_HOST),--host '$(PROD_HOST)') \
	  $(if $(DATABASE_URL),--database-url '$(DATABASE_URL)') $(if $(REDIS_URL),--redis-url '$(REDIS_URL)') \
	  $(if $(CELERY_BROKER_URL),--broker-url '$(CELERY_BROKER_URL)') $(if $(CACHE_URL),--cache-url '$(CACHE_URL)')

# Any management command with the production settings of ENV_FILE (.env), e.g.
#   make manage ARGS="createsuperuser"   make manage ARGS="migrate"
# The same as `.venv/bin/python manage.py …` from this directory: every entry point reads .env.
manage: $(VENV)/.runtime
	@test -f '$(ENV_FILE)' || { echo "$(ENV_FILE) not found: write it with make prod-env (or set ENV_FILE=…)" >&2; exit 2; }
	@ENV_FILE='$(ENV_FILE)' $(PY) manage.py $(ARGS)

# axe-core for the accessibility tests (tests/accessibility.py); without npm they skip, with the reason.
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --silent && touch $@; \
	  else echo "npm not found: the accessibility tests will be skipped (install Node.js for them)"; fi

test: $(VENV)/.dev node_modules/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The doctor's steps and an escalation round trip against a real HubSpot developer test account.
# Needs the HUBSPOT_LIVE_* variables (.env.example); without them every test is skipped. Never in CI.
hubspot-live: $(VENV)/.dev
	$(VENV)/bin/pytest -m hubspot_live tests/hubspot_live $(PYTEST_ARGS)

# The production profile under load on this machine (PostgreSQL and Redis must be running); prints
# one table. BENCH_ARGS="--reseed" seeds the million escalations again. See docs/benchmarks.md.
bench: $(VENV)/.dev
	$(PY) -m bench.run $(BENCH_ARGS)

# A seeded randomized fault run (PostgreSQL and Redis must be running): >= 1,000 faults over 200
# escalations, a table per kind of fault and the seed to replay it (CHAOS_SEED=...). The suite runs
# a small version of it (tests/faults/test_chaos.py).
CHAOS_ESCALATIONS ?= 200
CHAOS_ROUNDS ?= 5
chaos: $(VENV)/.dev
	CI=true CHAOS_ESCALATIONS=$(CHAOS_ESCALATIONS) CHAOS_ROUNDS=$(CHAOS_ROUNDS) \
	  $(VENV)/bin/pytest -p no:cacheprovider -p no:xdist -q -s tests/faults/test_chaos.py

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache node_modules
