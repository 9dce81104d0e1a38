# Quickstart: `make demo` simulates a sample company's quarter on SQLite (crmkit-demo.db,
# crmkit-demo.html); `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint docs bench mutate clean

$(BIN)/.installed: pyproject.toml src/crmkit/__init__.py  # the version lives in __init__
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,dev,docs]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/crmkit demo --html crmkit-demo.html

test: $(BIN)/.installed
	$(BIN)/pytest -q

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy --strict src tests
	$(BIN)/lint-imports

# The documentation site (Sphinx + MyST, docs/conf.py) in build/docs/html; any warning fails.
docs: $(BIN)/.installed
	$(BIN)/sphinx-build -W --keep-going -q -E -b html docs build/docs/html

bench: $(BIN)/.installed
	$(BIN)/python bench/bench_scopes.py

# Mutation testing of src/crmkit/policies: MODULES="reclaim scopes" narrows it (default: all).
mutate: $(BIN)/.installed
	$(BIN)/python bench/mutate.py $(if $(MODULES),$(MODULES),--all)

clean:
	rm -rf $(VENV) crmkit-demo.db crmkit-demo.html .pytest_cache .mypy_cache .ruff_cache .hypothesis
