# koito-assets: `make run` serves Dagster on the Koito database; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint format bench bench-quick screenshots clean

install: $(STAMP)

# Reinstall only when the dependency list changes; constraints.txt pins every version.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/python -m koito_assets.serve

test: install
	$(BIN)/pytest -q

# ruff: the formatting and the lint rules configured in pyproject.toml
lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python -m benchmarks.run

bench-quick: install
	$(BIN)/python -m benchmarks.run --quick

# The README's pictures of the UI, from a real `make run` (needs Debian's chromium; not in `make test`).
screenshots: install
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
