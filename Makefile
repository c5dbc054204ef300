# lemsim: the two commands are `make reproduce` and `make test` (README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
VPY       := $(VENV)/bin/python
STAMP     := $(VENV)/.lemsim-installed
APT_PKGS  := ngspice dataset-fashion-mnist libopenblas-dev slurm-wlm munge
CORES     ?= all
SMK_ARGS  ?=

# Python 3.12 (the dolfinx wheel needs it): python3.12 on PATH if it runs, else pyenv's 3.12.
PYTHON312 := $(shell \
  if python3.12 -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then \
    command -v python3.12; \
  elif command -v pyenv >/dev/null 2>&1; then \
    ls -d "$$(pyenv root)"/versions/3.12.*/bin/python 2>/dev/null | sort -V | tail -n 1; \
  fi)

.PHONY: help setup apt reproduce test test-unit test-slow bench lint schema clean

help:
	@echo "make reproduce   create .venv (Python 3.12), install, run the default Snakemake DAG"
	@echo "make test        same set-up, then the test suite (CI: every test but the slow tier)"
	@echo "make test-unit   the fast tier (no Snakemake, no dolfinx, no long runs; ~1 min)"
	@echo "make test-slow   the slow tier (tests marked slow, left out of make test)"
	@echo "make bench       run every benchmark in benchmarks/ (ratios against peers)"
	@echo "make lint        ruff + the import-layer contract (lint-imports) + snakemake --lint"

setup: apt $(STAMP)

# Debian packages the pipeline uses: installed when running as root and missing; otherwise the
# apt-get line is printed and the run goes on without what needs them (those tests skip).
apt:
	@missing=""; for p in $(APT_PKGS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "NOTE: missing Debian packages:$$missing"; \
	    echo "      run: sudo apt-get install -y$$missing   (ngspice checks, Fashion-MNIST and the Slurm test need them)"; \
	  fi; \
	fi

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON312)" ]; then \
	  echo "ERROR: Python 3.12 not found (tried python3.12 and pyenv's versions/3.12.*)."; \
	  echo "       Install it (e.g. 'pyenv install 3.12') and rerun."; exit 1; fi
	@test -x $(VPY) || $(PYTHON312) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -e '.[dev,bench,slurm]'
	$(VPY) -m pip install --quiet --no-deps 'animal-mnist==0.4'
	@touch $(STAMP)

reproduce: setup
	$(VENV)/bin/snakemake --profile workflow/profiles/default --cores $(CORES) $(SMK_ARGS)
	$(VENV)/bin/snakemake --profile workflow/profiles/default --cores 1 $(SMK_ARGS) \
		--report results/report.html
	$(VPY) -m pipeline.timings results

# Test tiers (markers in pyproject.toml): CI runs `make test`, everything but `slow`.
test: setup
	$(VENV)/bin/pytest -m "not slow" $(PYTEST_ARGS)

test-unit: setup
	$(VENV)/bin/pytest -m "not slow and not workflow and not dolfinx and not long" $(PYTEST_ARGS)

# pytest exits 5 when no test is selected: an empty slow tier is not a failure.
test-slow: setup
	@$(VENV)/bin/pytest -m slow $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no test is marked slow"; else exit $$rc; fi

bench: setup
	@set -e; for b in benchmarks/bench_*.py; do echo "== $$b"; $(VPY) $$b; done

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/snakemake --lint --cores 1

schema: setup
	$(VPY) -m pipeline.config

clean:
	rm -rf results logs .snakemake
