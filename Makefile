# The two commands of http-trigger: `make run` (the whole product, embedded) and `make test`.
PYTHON ?= python3.11
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PORT ?= 8080
MOTO_PORT ?= 5000

.PHONY: run test screenshots install lock clean

# Install exactly the locked versions, then this package in editable mode (no build isolation,
# so the locked setuptools builds it and nothing unpinned is fetched).
$(INSTALLED): requirements.txt pyproject.toml
	@echo "[1/3] Creating the virtual environment $(VENV) (Python from $(PYTHON))"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "[2/3] Installing $$(grep -c '==' requirements.txt) pinned packages from requirements.txt (first time: a few minutes)"
	@$(BIN)/python -m pip install --disable-pip-version-check -r requirements.txt 2>&1 \
		| { grep --line-buffered -E '^(Collecting|Installing|Successfully|ERROR)' || true; }
	@$(BIN)/python -m pip check --disable-pip-version-check
	@echo "[3/3] Installing http-trigger itself (editable)"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

install: $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/python -m devstack.demo --port $(PORT) --moto-port $(MOTO_PORT)

# The browser tests drive Debian's chromium, the compose file's test runs `docker-compose config`;
# the scripts install them when they are missing (as root).
test: $(INSTALLED)
	sh scripts/ensure-chromium.sh
	sh scripts/ensure-docker-compose.sh
	$(BIN)/python -m pytest

# Refresh the README's pictures of the pages (the browser tests take them).
screenshots: $(INSTALLED)
	sh scripts/ensure-chromium.sh
	HTTP_TRIGGER_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest tests/integration/test_pages*.py

# Re-resolve the lock from requirements.in (needs the package registry).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet -r requirements.in
	{ head -n 2 requirements.txt; .lock-venv/bin/python -m pip freeze --all --exclude-editable; } > requirements.txt.new
	mv requirements.txt.new requirements.txt && rm -rf .lock-venv

clean:
	rm -rf $(VENV) .airflow
