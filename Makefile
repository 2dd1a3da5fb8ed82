# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
# OAuth redirect URIs, webhook URLs and the sandbox's API base derive from it: keep it on the served port.
PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
export PUBLIC_BASE_URL
# pytest-xdist processes: most tests wait on live servers, workers and browsers, not the CPU.
TEST_WORKERS ?= 4

# The production profile's env file, read by `make prod` (honcho); written by `make prod-env`.
ENV_FILE ?= .env
PROD_HOST ?=
# The production commands run with the venv's gunicorn, celery and honcho first on PATH.
PROD := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho -e $(ENV_FILE)

.PHONY: run test lint format bench migrate clean prod prod-env hubspot-live

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
	@$(PY) manage.py sandbox_seed --json > var/sandbox.json && \
	  echo "HubSpot sandbox ready: its demo app's credentials are in var/sandbox.json;" && \
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
	@$(PROD) run python -m hitl_portal.preflight
	@$(PROD) run python manage.py migrate --noinput
	@$(PROD) run python manage.py collectstatic --noinput -v 0
	$(PROD) start --port $(PORT)

# A production env file for a single-machine install (fresh secrets, never overwrites).
prod-env: $(VENV)/.runtime
	@$(PY) -m hitl_portal.production_env --path $(ENV_FILE) $(if $(PROD_HOST),--host $(PROD_HOST))

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

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache node_modules
