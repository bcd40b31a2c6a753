# `make run` and `make test` work on a fresh machine with Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint format typecheck check worker beat clean bench

$(VENV)/.runtime: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "Redress needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	@scripts/system-deps.sh run
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Redress is at http://127.0.0.1:8000 (tasks run in-process; Ctrl-C stops it)"
	$(PY) manage.py runserver 127.0.0.1:8000

test: $(VENV)/.dev
	@scripts/system-deps.sh test
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: $(VENV)/.dev
	$(VENV)/bin/mypy .

check: lint typecheck test

# Every benchmark, printed as ratios against its peers and written to
# bench/results.json; BENCH_ARGS=--10m adds matching over 10M hashes.
bench: $(VENV)/.dev
	$(PY) bench/run.py $(BENCH_ARGS)

# A Celery worker for use with CELERY_BROKER_URL (production-like runs).
worker: $(VENV)/.runtime
	$(VENV)/bin/celery -A redress worker --loglevel=INFO

# The re-check schedule (CELERY_BEAT_SCHEDULE); run exactly one next to the workers.
beat: $(VENV)/.runtime
	@mkdir -p var
	$(VENV)/bin/celery -A redress beat --loglevel=INFO --schedule=var/celerybeat-schedule

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
