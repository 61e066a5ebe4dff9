# Two commands do all the set-up: `make demo` and `make test` (each creates .venv if missing).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
LINT_PATHS := $(wildcard src tests bench)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DATA ?=
DEMO_BUDGET ?= 60

.PHONY: venv demo test lint format typecheck clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/atlas demo $(if $(DEMO_DATA),--data $(DEMO_DATA)) --budget $(DEMO_BUDGET)

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

format: $(STAMP)
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .atlas .pytest_cache .ruff_cache .mypy_cache
