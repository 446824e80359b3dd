# The two commands of the README, and the benchmarks.
#   make demo    a real 20-trial search on the bundled digits data (SQLite, CPU), then its report
#                (and how to watch it live with `hpsearch serve`)
#   make test    the lint and the type checker, then the whole test suite (what CI runs)
#   make test-fast   the edit-test loop: the lint and the type checker, then everything not
#                    marked slow (under a minute)
#   make lint    `ruff check hpsearch tests` and `mypy` (settings in pyproject.toml)
#   make test-fresh  the property suites (hypothesis) with new random examples, not CI's fixed
#                    ones: run it now and then, it finds what the fixed seed never draws
#   make bench   benchmarks side by side with Optuna and a plain PyTorch loop (see benchmarks/README.md)

VENV ?= .venv
PY := $(VENV)/bin/python
HPSEARCH := $(VENV)/bin/hpsearch
# PyTorch. The pin fixes the version, not the build: pip takes whatever wheel its index offers
# for this machine. From PyPI on Linux x86_64 that is the CUDA build (several GB of nvidia-*
# packages; it also runs on CPU); on macOS and Windows the CPU build. A machine without a GPU
# gets the small CPU build from PyTorch's CPU index:
#     make demo TORCH_INDEX=https://download.pytorch.org/whl/cpu
# A GPU machine keeps the default (or names the CUDA index that matches its driver). Where pip
# is set up with a local wheel (a mirror, a wheelhouse), that wheel is what is installed.
TORCH ?= torch==2.13.0
TORCH_INDEX ?=

.PHONY: install sysdeps demo lint test test-fast test-fresh bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q $(TORCH) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install -q -e ".[test,postgres]"
	@# bytecode, as a wheel's install writes it: an editable install has none, and where
	@# PYTHONDONTWRITEBYTECODE is set every hpsearch process would compile ~110 modules again
	$(PY) -m compileall -q hpsearch
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(HPSEARCH) run search_spaces/digits_mlp.toml
	$(HPSEARCH) report digits-mlp --top 10
	@echo "to watch a study live (no extra to install: the server is the standard library's):"
	@echo "  $(HPSEARCH) serve digits-mlp    # then open http://127.0.0.1:8080/"

# The Debian packages the tests start themselves (PostgreSQL, Slurm, Chromium), when missing.
sysdeps:
	@bash .ci/sysdeps

# Fail fast: a lint or type error stops the run before the (long) tests start.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check hpsearch tests
	$(VENV)/bin/mypy

test: lint sysdeps
	$(PY) -m pytest -q -rs

test-fast: lint
	$(PY) -m pytest -q -rs -m "not slow"

# Every test file that uses hypothesis, with fresh seeds (CI unset: not derandomized).
PROPERTY_TESTS = $(shell grep -rl --include='test_*.py' -e '^from hypothesis' tests | sort)

test-fresh: $(VENV)/.installed
	env -u CI HPSEARCH_FRESH_SEEDS=1 $(PY) -m pytest -q -rs $(PROPERTY_TESTS)

bench: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[bench]"
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) hpsearch.db hpsearch.db-wal hpsearch.db-shm .pytest_cache
