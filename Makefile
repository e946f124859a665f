# Two commands for a fresh machine: `make demo` and `make test`. Both create .venv first (scripts/bootstrap.sh).
VENV ?= .venv
PYTHON ?= python3

.PHONY: setup demo test test-fast lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/bootstrap.sh
	PYTHON=$(PYTHON) bash scripts/bootstrap.sh $(VENV)

demo: setup
	$(VENV)/bin/kaggle-kit demo

test: setup
	$(VENV)/bin/ruff check kaggle_kit tests benchmarks
	$(VENV)/bin/python -m pytest -q

# the edit-test loop: everything but the end-to-end demos, notebooks, benchmark scripts, kill tests and Ray
# (the full suite, `make test`, is what CI runs)
test-fast: setup
	$(VENV)/bin/ruff check kaggle_kit tests benchmarks
	$(VENV)/bin/python -m pytest -q -x -m "not slow" --ignore=tests/test_benchmarks.py --ignore=tests/test_faults.py \
		--ignore=tests/test_executors.py --ignore=tests/test_demo_mnist1d.py

lint: setup
	$(VENV)/bin/ruff check kaggle_kit tests benchmarks
	$(VENV)/bin/ruff format --check kaggle_kit tests benchmarks

clean:
	rm -rf $(VENV) runs data .pytest_cache
