# The two commands a newcomer needs:  `make demo`  and  `make test`.
VENV ?= .venv
PYTHON ?= python3
export DBT_SEND_ANONYMOUS_USAGE_STATS = false
export GX_ANALYTICS_ENABLED = false

.PHONY: setup browser demo ui screenshot test test-fast lint lock clean

# The environment is installed from the lock file: exactly the versions the tests ran on.
$(VENV)/.installed: pyproject.toml requirements.lock
	@echo "setup: creating $(VENV) and installing the locked environment (about two minutes)"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.lock
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $@
	@echo "setup: done ($$($(VENV)/bin/accounts --version))"

setup: $(VENV)/.installed

# Headless Chromium for the tests that open the report and the Data Docs (Debian's package).
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "chromium is not installed (apt-get install chromium, as root): the browser tests skip," \
			"or fail where ACCOUNTS_REQUIRE_BROWSER=1 (CI)"

# Set up, then run the nightly job on the bundled sample (data/landing -> data/warehouse).
demo: setup
	$(VENV)/bin/accounts run

# Dagster's web UI on the runs the command line recorded (http://localhost:3000).
ui: setup
	$(VENV)/bin/accounts ui

# docs/report.png, the README's picture of the report: the sample over 13 months with a
# programme start (so the impact study has a baseline), rendered offline in headless Chromium.
screenshot: setup browser
	rm -rf build/screenshot
	ACCOUNTS_WAREHOUSE_DIR=build/screenshot ACCOUNTS_CONFIG=data/impact_study_config.yaml \
		$(VENV)/bin/accounts backfill --from 2025-10 --to 2026-10
	$(VENV)/bin/python -c "from pathlib import Path; from pipelines.report.screenshot import screenshot; \
		screenshot(Path('build/screenshot/report.html'), Path('docs/report.png'), max_height=6490)"

# The whole test suite, what CI runs (pytest's "no tests collected", exit 5, is not a failure).
test: setup browser
	$(VENV)/bin/pytest $(PYTEST_ARGS) || [ $$? -eq 5 ]

# The fast loop while developing: unit tests and SQL tests on tiny hand-made warehouses.
test-fast: setup
	$(VENV)/bin/pytest tests/unit tests/sql -n 2 --dist loadfile $(PYTEST_ARGS) || [ $$? -eq 5 ]

lint: setup
	$(VENV)/bin/ruff check .

# Re-resolve the dependencies from pyproject.toml's ranges into requirements.lock (then run
# `make test` on the new versions before committing the lock).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet '.[dev,spark]'
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^account-management-pipeline' > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf data/warehouse transforms/target transforms/logs
