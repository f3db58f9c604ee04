# mmdigit: every target sets up what it needs (tools/setup_env.sh is idempotent: seconds once installed).
PY := .venv/bin/python
FORCE ?=
PYTEST_ARGS ?=

.PHONY: install test lint demo bench clean-venv

install:
	@bash tools/setup_env.sh

test: install
	@$(PY) -m ruff check mmdigit tools tests configs bench
	@$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	@$(PY) -m ruff check mmdigit tools tests configs bench

demo: install
	@$(PY) tools/demo.py --work-dir work_dirs/demo $(if $(FORCE),--force,)

bench: install
	@$(PY) bench/run_all.py

clean-venv:
	rm -rf .venv
