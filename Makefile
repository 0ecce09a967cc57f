# dsc: make dataset | make test | make test-beam | make check | make bench | make lint | make fuzz
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TEST_STAMP := $(VENV)/.test-installed-stamp

# Python caches compiled modules in __pycache__/ (git-ignored) unless PYTHONDONTWRITEBYTECODE is
# set, as it is on some machines: then every `dsc` the tests start compiles the package again,
# and every pytest worker rewrites every test module's asserts again. Let it cache.
unexport PYTHONDONTWRITEBYTECODE
LSP_STAMP := tests/lsp/node_modules/.installed-stamp

.PHONY: dataset test test-beam check bench lint format fuzz clean

# Building needs the package alone; tests, lint and the bench add the test, hf, tokens,
# trainers, watch and beam extras. torch goes in first and alone, at the exact release the
# trainers extra pins (the CPU build on this machine's disk): trl then finds its torch
# requirement met. LLaMA-Factory and Axolotl go in last, without the transformers, datasets and
# trl releases and the GPU packages they pin (setup.cfg, trainers).
dataset: $(STAMP)
	$(BIN)/dsc build

test: $(TEST_STAMP) $(LSP_STAMP)
	$(BIN)/python -m pytest -q -n auto --dist loadgroup -m "not beam"

# The Beam runner's tests (tests/test_beam.py): every golden case, the example and a generated
# project built on Beam's DirectRunner with 2 worker processes, against the local build's bytes.
test-beam: $(TEST_STAMP)
	DSC_BEAM_ALL=1 $(BIN)/python -m pytest -q -m beam

# Every test, the property tests searching afresh (not make test's repeatable examples) with
# ten times their examples: a longer search, before a release.
fuzz: $(TEST_STAMP) $(LSP_STAMP)
	DSC_HYPOTHESIS=search DSC_EXAMPLES=10 DSC_BEAM_ALL=1 $(BIN)/python -m pytest -q -n auto --dist loadgroup

check: $(STAMP)
	$(BIN)/dsc check

bench: $(TEST_STAMP)
	$(BIN)/python bench/bench.py

lint: $(TEST_STAMP)
	$(BIN)/ruff check compiler tests bench
	$(BIN)/ruff format --check compiler tests bench

format: $(TEST_STAMP)
	$(BIN)/ruff format compiler tests bench

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test,hf,tokens,trainers,watch,beam]'
	$(BIN)/python -m pip install --quiet --no-deps llamafactory==0.9.5 axolotl==0.19.0
	# what pre-commit's environment of dsc's hooks installs, for tests/test_precommit.py offline
	$(BIN)/python -m pip download --quiet --dest $(VENV)/wheelhouse --only-binary=:all: \
		'setuptools>=64' wheel .
	touch $(TEST_STAMP)

# tests/test_editor.py drives npm's yaml-language-server, pinned by tests/lsp/package-lock.json
# and installed (node and npm are on the machine) into tests/lsp/node_modules, git-ignored.
$(LSP_STAMP): tests/lsp/package-lock.json
	npm ci --prefix tests/lsp --no-audit --no-fund --loglevel=error
	touch $(LSP_STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis tests/lsp/node_modules
