# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
HOST ?= 127.0.0.1
PORT ?= 8000

# The MySQL driver needs system headers, so it is installed only when the
# database is MySQL/MariaDB.
ifneq (,$(filter mysql%,$(DATABASE_URL)))
REQUIREMENTS_DB := requirements-mysql.txt
endif

.PHONY: run serve test prod-check bench lint messages clean-db backup restore screenshots audit

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-%: requirements.txt requirements-dev.txt requirements-mysql.txt | $(VENV)/bin/python
	$(PIP) install -r requirements-dev.txt $(if $(filter mysql,$*),-r requirements-mysql.txt)
	touch $@

INSTALLED := $(VENV)/.installed-$(if $(REQUIREMENTS_DB),mysql,base)

# A local .env with DEBUG on and a fresh secret key, written once.
.env:
	printf 'DEBUG=1\nSECRET_KEY=%s\n' "$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" > .env
	@echo "Wrote .env (DEBUG on, new SECRET_KEY) for local use."

# The task worker and the web server. Ctrl+C stops both; so does stopping
# make: the shell's trap kills both, and if make is killed outright the worker
# still stops, as it watches make's pid ($PPID in the shell) and, under the
# autoreloader, its own reloader process.
SERVE = @echo "Starting the task worker and the web server on http://$(HOST):$(PORT)/ (Ctrl+C stops both)"; \
	trap 'kill 0' EXIT; \
	$(PY) manage.py worker --stop-with-pid $$PPID & \
	$(PY) manage.py runserver $(HOST):$(PORT)

run: $(INSTALLED) .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	$(PY) manage.py create_demo_admin
	$(SERVE)

# The same without migrating or loading the demo data.
serve: $(INSTALLED) .env
	$(SERVE)

test: $(INSTALLED)
	$(PY) -m pytest $(PYTEST_ARGS)

# The production install on its own (.ci/prod-check): requirements.txt alone in
# a fresh venv (/tmp/crm-prod-check-venv), DEBUG off, static files collected,
# a fresh database, every admin page of the menu opened as the owner.
prod-check:
	PYTHON=$(PYTHON) .ci/prod-check

# Benchmarks on MariaDB (127.0.0.1:3306, root): see bench/README.md.
$(VENV)/.installed-bench: requirements.txt requirements-dev.txt requirements-mysql.txt requirements-bench.txt | $(VENV)/bin/python
	$(PIP) install -r requirements-bench.txt
	touch $@

bench: $(VENV)/.installed-bench
	$(PY) bench/changelist.py $(BENCH_ARGS)
	$(PY) bench/dashboard.py
	$(PY) bench/import.py
	$(PY) bench/load.py
	$(PY) bench/whatsapp.py
	$(PY) bench/security.py

# The phone audit (bench/README.md, "Phone audit"): Lighthouse 12.2.3 (npm,
# installed once into the git-ignored bench/.lighthouse/) with Debian's
# Chromium on the dashboard, customer list, a deal page and the board, and a
# first visit on emulated fast 3G; prints each goal met / NOT met and writes
# bench/results/audit.json.
LIGHTHOUSE_VERSION := 12.2.3
bench/.lighthouse/node_modules/lighthouse/package.json:
	npm install --prefix bench/.lighthouse --no-audit --no-fund -E lighthouse@$(LIGHTHOUSE_VERSION)

audit: $(INSTALLED) bench/.lighthouse/node_modules/lighthouse/package.json
	$(PY) bench/audit.py $(AUDIT_ARGS)

# The README's screenshots (docs/screenshots/), from the demo data in a throwaway
# SQLite database served on a free port; needs Chromium at /usr/bin/chromium.
screenshots: $(INSTALLED)
	$(PY) docs/screenshots.py

# Backups (README, "Backups"): make backup; make restore FILE=backup-....gz [REPLACE=1]
backup: $(INSTALLED)
	$(PY) manage.py backup

restore: $(INSTALLED)
	@test -n "$(FILE)" || { echo "Usage: make restore FILE=backup-....gz [REPLACE=1]"; exit 2; }
	$(PY) manage.py migrate --noinput
	$(PY) manage.py restore "$(FILE)" $(if $(REPLACE),--replace)

# The Docker image built and run as the README's "Deploying with Docker" says
# (compose up, login, import page, WhatsApp, backup and restore); starts
# dockerd if needed, stands in for base images Docker Hub cannot give. CI runs it.
docker-check:
	docker/check/check.sh

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .

# Regenerate the translation catalogue after changing user-facing strings
# (needs GNU gettext: apt-get install gettext).
messages: $(INSTALLED)
	$(PY) manage.py makemessages -l id --ignore=.venv --ignore=bench
	$(PY) manage.py compilemessages -l id --ignore=.venv
