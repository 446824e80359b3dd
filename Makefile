# The two commands of the README, and the benchmarks.
#   make demo    a real 20-trial search on the bundled digits data (SQLite, CPU), then its report
#   make test    the whole test suite (what CI runs)
#   make test-fast   the edit-test loop: everything not marked slow (under a minute)
#   make bench   benchmarks side by side with Optuna and a plain PyTorch loop (see benchmarks/README.md)

VENV ?= .venv
PY := $(VENV)/bin/python
HPSEARCH := $(VENV)/bin/hpsearch
# The CPU build of PyTorch: an unpinned `torch` would pull a CUDA build of several GB.
TORCH ?= torch==2.13.0

.PHONY: install demo test test-fast bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e ".[test,postgres]"
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(HPSEARCH) run search_spaces/digits_mlp.toml
	$(HPSEARCH) report digits-mlp --top 10

test: $(VENV)/.installed
	$(PY) -m pytest -q -rs

test-fast: $(VENV)/.installed
	$(PY) -m pytest -q -rs -m "not slow"

bench: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[bench]"
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) hpsearch.db hpsearch.db-wal hpsearch.db-shm .pytest_cache
