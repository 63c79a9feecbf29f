# The two commands a newcomer needs:  `make demo`  and  `make test`.
VENV ?= .venv
PYTHON ?= python3
export DBT_SEND_ANONYMOUS_USAGE_STATS = false
export GX_ANALYTICS_ENABLED = false

.PHONY: setup demo test test-fast lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
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
	$(VENV)/bin/pytest tests/unit tests/sql -n 2 $(PYTEST_ARGS) || [ $$? -eq 5 ]

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf data/warehouse transforms/target transforms/logs
