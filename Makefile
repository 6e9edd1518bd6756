# Two commands do everything on a fresh clone: `make demo` and `make test`.
# Both create .venv and install crm7 on first use; the embedded PostgreSQL
# starts by itself in .crm7/ the first time a command needs it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed-stamp

.PHONY: demo test lint bench db-stop clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/crm7 demo

lint: $(INSTALLED)
	$(BIN)/ruff check loaders tests bench
	$(BIN)/ruff format --check loaders tests bench
	$(BIN)/crm7 lint-sql

test: lint
	$(BIN)/pytest

bench: $(INSTALLED)
	$(BIN)/python bench/run.py

db-stop: $(INSTALLED)
	$(BIN)/crm7 db stop

clean: db-stop
	rm -rf .crm7 target logs
