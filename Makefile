# The two commands a newcomer needs:  `make demo`  and  `make test`.
VENV ?= .venv
PYTHON ?= python3
export DBT_SEND_ANONYMOUS_USAGE_STATS = false
export GX_ANALYTICS_ENABLED = false

.PHONY: setup demo test test-fast lint lock clean

# The environment is installed from the lock file: exactly the versions the tests ran on.
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.lock
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $@

setup: $(VENV)/.installed

# Set up, then run the nightly job on the bundled sample (data/landing -> data/warehouse).
demo: setup
	$(VENV)/bin/accounts run

# The whole test suite, what CI runs (pytest's "no tests collected", exit 5, is not a failure).
test: setup
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
	.lock-venv/bin/pip install --quiet '.[dev]'
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^account-management-pipeline' > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf data/warehouse transforms/target transforms/logs
