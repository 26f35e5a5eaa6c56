# Developer tasks, named as in the LangChain partner packages. Every target runs the code
# of this checkout (PYTHONPATH below), so it works from any virtualenv that has the
# `test` extra installed, editable or not:  make test PYTHON=/path/to/venv/bin/python
.PHONY: help test tests integration integration_tests slow test_all lint format type \
	check_imports bench bench_quick

PYTHON ?= python3
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
PYTEST := $(PYTHON) -m pytest -p no:cacheprovider
# Unit tests may talk to servers they start on 127.0.0.1, nothing else (pytest-socket).
LOCAL_ONLY := --allow-hosts=127.0.0.1 --allow-unix-socket
PACKAGES := vertex_openai langchain_vertex_openai llama_index_vertex_openai llama_index

help:  ## list the targets
	@grep -E '^[a-z_ ]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

test tests:  ## unit tests: no emulator, no soaks, sockets only to 127.0.0.1
	$(PYTEST) -m "not integration and not slow and not live" $(LOCAL_ONLY) tests

integration integration_tests:  ## emulator-backed tests (frameworks, CLI, reliability, docs), without soaks
	$(PYTEST) -m "integration and not slow and not live" tests

slow:  ## only the soak and load tests (CI runs them; `pytest -m "not slow"` skips them)
	$(PYTEST) -m "slow and not live" tests

test_all:  ## everything, as CI and the README's `pytest` run it (live tests skip without credentials)
	$(PYTEST) tests

lint:  ## ruff (rules in pyproject.toml), ruff format --check, mypy
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy

type:  ## mypy only
	$(PYTHON) -m mypy

format:  ## ruff format and the safe ruff fixes
	$(PYTHON) -m ruff format .
	$(PYTHON) -m ruff check --fix .

check_imports:  ## import every module of the four packages in a fresh interpreter each
	@set -e; for f in $$(find $(PACKAGES) -name '*.py' -not -path '*/__pycache__/*'); do \
		m=$$(echo $$f | sed 's|/__init__\.py$$||; s|\.py$$||; s|/|.|g'); \
		case $$m in *.__main__) continue;; esac; \
		$(PYTHON) -c "import $$m" || { echo "cannot import $$m"; exit 1; }; \
	done; echo "all modules import"

bench:  ## full benchmark run (~15 min on 2 cores); rewrites docs/benchmarks.md
	$(PYTHON) benchmarks/run.py

bench_quick:  ## short benchmark run with CI's regression guard (ratios only)
	$(PYTHON) benchmarks/run.py --quick --guard
