# Two commands for a fresh machine: `make demo` and `make test`. Both create .venv first (scripts/bootstrap.sh).
VENV ?= .venv
PYTHON ?= python3

.PHONY: setup demo test lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/bootstrap.sh
	PYTHON=$(PYTHON) bash scripts/bootstrap.sh $(VENV)

demo: setup
	$(VENV)/bin/kaggle-kit demo

test: setup
	$(VENV)/bin/ruff check kaggle_kit tests benchmarks
	$(VENV)/bin/python -m pytest -q

lint: setup
	$(VENV)/bin/ruff check kaggle_kit tests benchmarks
	$(VENV)/bin/ruff format --check kaggle_kit tests benchmarks

clean:
	rm -rf $(VENV) runs data .pytest_cache
