# dsc: make dataset | make test | make check | make bench | make lint
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: dataset test check bench lint format clean

dataset: $(STAMP)
	$(BIN)/dsc build

test: $(STAMP)
	$(BIN)/python -m pytest -q

check: $(STAMP)
	$(BIN)/dsc check

bench: $(STAMP)
	$(BIN)/python bench/bench.py

lint: $(STAMP)
	$(BIN)/ruff check compiler tests bench
	$(BIN)/ruff format --check compiler tests bench

format: $(STAMP)
	$(BIN)/ruff format compiler tests bench

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,hf]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
