# Two commands matter: `make demo` (the embedded default) and `make test` (the whole suite).
# Each builds .venv on first use. TORCH pins the CPU build found on our machines' local wheel
# cache; on a GPU host run `make TORCH=torch demo` to get the normal build. CONSTRAINTS pins every
# other library to the versions the demo was measured with (Python 3.11); `make CONSTRAINTS= ...`
# resolves freely instead.

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
CONSTRAINTS ?= constraints.txt
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e ".[dev]"
	touch $@

demo: $(VENV)/.installed
	HF_HUB_OFFLINE=1 $(BIN)/cobalt demo

test: $(VENV)/.installed lint
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

lint: $(VENV)/.installed
	$(BIN)/ruff check cobalt tests benchmarks
	$(BIN)/ruff format --check cobalt tests benchmarks

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/executor.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
