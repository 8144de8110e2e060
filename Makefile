# The two commands a fresh machine needs:  make demo   and   make test
# Each creates (or reuses) .venv, installs what it needs, then runs.
PYTHON     ?= python3
VENV       ?= .venv
# Installed only when the venv has no torch yet, so an existing torch is kept.
# `pip install torch==2.13.0` takes the CPU wheel from local disk on our machines.
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
PY  := $(BIN)/python

.PHONY: demo test install install-test lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.torch: | $(PY)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH_SPEC)"
	@touch $@

# The distribution is gcl-pyg (import name gcl). A venv made before the rename
# holds this project as "gcl": remove that copy, and only if it is this project
# (PyPI's "gcl" is an unrelated package that also imports as gcl).
$(VENV)/.installed: setup.cfg pyproject.toml $(VENV)/.torch
	@$(PY) -c "import importlib.metadata as m, sys; \
	sys.exit(not m.metadata('gcl')['Summary'].startswith('Graph contrastive'))" \
	2>/dev/null && $(PY) -m pip uninstall -q -y gcl || true
	$(PY) -m pip install -q -e .
	@touch $@

$(VENV)/.installed-test: setup.cfg pyproject.toml $(VENV)/.installed
	$(PY) -m pip install -q -e ".[test]"
	@touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: install
	$(PY) examples/cora_grace.py

test: install-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(PY) -m pytest -n 2 -q

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
