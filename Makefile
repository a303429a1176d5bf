# Two commands do all the set-up on a fresh machine:
#   make run    installs into .venv (first time) and runs the bot
#   make test   installs into .venv (first time) and runs the tests, ruff and mypy
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench generate doctor accounts clean chromium

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot run

test: $(STAMP) chromium
	@# the storage suite runs against a real PostgreSQL: Debian's server package, a throwaway cluster per session
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; }
	NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost $(BIN)/python -m pytest -q
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench
	$(BIN)/mypy

# The web UI's browser tests drive Debian's Chromium; install it (as root, as CI runs) only when it is missing.
chromium:
	@test -x /usr/bin/chromium && test -x /usr/bin/chromedriver || \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; }

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench
	$(BIN)/mypy

bench: $(STAMP)
	NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost $(BIN)/python -m bench $(BENCH_ARGS)

doctor: $(STAMP)
	$(BIN)/python -m bot doctor

accounts: $(STAMP)
	$(BIN)/python -m bot accounts

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
