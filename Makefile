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

.PHONY: run test lint format bench migrate clean

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
	  $(PY) manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest $(PYTEST_ARGS)

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
	rm -rf $(VENV) var .pytest_cache .ruff_cache
