# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(PY) -m pip --disable-pip-version-check -q

.PHONY: demo test test-dates lint docs format bench chaos-report clean venv dev

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "fbtime needs Python 3.11+ (set PYTHON=python3.11)"'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml
	$(PIP) install -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/bin/python pyproject.toml
	$(PIP) install -e '.[dev]'
	@touch $@ $(VENV)/.installed

venv: $(VENV)/.installed
dev: $(VENV)/.installed-dev

## make demo: install, start a sandbox, load a year of team time, print and chart it
demo: $(VENV)/.installed
	$(VENV)/bin/fbtime demo --out demo-output

## make test: install with dev extras, lint, build the docs strictly, run the whole suite
## (tests/ and the docstring examples in fbtime/)
## worksteal: an idle worker takes queued tests from a busy one, so the few long tests
## (chaos, browser) do not pile up on one worker (4m45s against 5m33s with the default)
test: $(VENV)/.installed-dev lint docs
	$(PY) -m pytest -n 2 --dist worksteal -q

## make test-dates: the suite with the system clock moved to each of TEST_DATES (noon UTC)
## by libfaketime (Debian: apt install faketime), to show no test depends on today's date.
## An offset, not a start time, so every process of a run (xdist workers, CLI and notebook
## subprocesses) agrees on the time, and the clock still ticks. The monotonic clock is left
## alone (faked, a thread's timed wait never returns), and tests/faketime/sitecustomize.py
## makes time.sleep work around libfaketime's clock_nanosleep with it.
TEST_DATES ?= 2026-06-01 2027-06-01
test-dates: $(VENV)/.installed-dev
	@command -v faketime >/dev/null || { echo "make test-dates needs libfaketime's faketime"; exit 1; }
	@status=0; for day in $(TEST_DATES); do \
		offset=$$(( $$(date -u -d "$$day 12:00:00" +%s) - $$(date -u +%s) )); \
		echo "== the system clock at $$day 12:00 UTC (offset $$offset s) =="; \
		PYTHONPATH="$(CURDIR)/tests/faketime$${PYTHONPATH:+:$$PYTHONPATH}" \
		FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "$$( [ $$offset -ge 0 ] && echo + )$$offset" \
			$(PY) -m pytest -n 2 --dist worksteal -q || status=1; \
	done; exit $$status

## make docs: build the reference site strictly (a broken link, anchor or API reference
## fails) into a temporary directory, so the tree is left as it was; `mkdocs serve` to read
docs: $(VENV)/.installed-dev
	@site=$$(mktemp -d) && trap 'rm -rf "$$site"' EXIT && \
		NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir "$$site"

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## make chaos-report: run the chaos suite and rewrite tests/chaos/RESULTS.md (on purpose only)
chaos-report: $(VENV)/.installed-dev
	FBTIME_WRITE_CHAOS_RESULTS=1 $(PY) -m pytest -n 2 --dist worksteal -q tests/chaos

## make bench: measure load speed against the official SDK (writes bench/RESULTS.md)
bench: $(VENV)/.installed-dev
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache .ruff_cache
