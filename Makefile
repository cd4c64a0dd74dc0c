# Two commands on a fresh machine:
#   make sandbox   install and run the bot against a local Slack workspace in your browser
#   make test      run the whole test suite (installs Redis, Prometheus, Alertmanager, Chromium if missing)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install sandbox serve test lint bench clean

$(BIN)/chatops: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/chatops

# the sandbox needs only the runtime dependencies (a quicker first run than the dev install)
$(VENV)/.runtime-installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

sandbox: $(VENV)/.runtime-installed
	$(BIN)/chatops sandbox $(SANDBOX_ARGS)

serve: install
	$(BIN)/chatops serve

test: install
	./scripts/ensure-system.sh
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	./scripts/ensure-system.sh
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) artifacts .pytest_cache
