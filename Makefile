# Two commands do all the setup: `make run` and `make test`. Both build .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The lowest versions pyproject.toml allows (every direct dependency at its floor, uv's
# lowest-direct resolution), where `make test` runs the suite again, so that no floor can lie.
LOWEST       := .venv-lowest
LOWEST_STAMP := $(LOWEST)/.installed
# There, the tests that reach the dependencies (HTTP, routing, bodies, schemas, YAML, the README's
# examples) run; those that mostly drive test tools, subprocesses or load are left to the first run.
LOWEST_SKIP  := schemathesis plugin concurrency ui_browser properties cli security journal fast_paths \
                persistence cors
LOWEST_TESTS ?= tests $(foreach name,$(LOWEST_SKIP),--ignore=tests/test_$(name).py)

.PHONY: install run test test-lowest lint browser bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(STAMP)

$(BIN)/uv: $(STAMP)
	$(BIN)/pip install -q 'uv>=0.5'
	touch $@

# Built anew whenever pyproject.toml changes (a floor moved), from nothing but PyPI.
$(LOWEST_STAMP): pyproject.toml $(BIN)/uv
	rm -rf $(LOWEST)
	$(PYTHON) -m venv --without-pip $(LOWEST)
	$(BIN)/uv pip compile -q --python $(LOWEST)/bin/python --resolution lowest-direct --extra test \
		--no-header -o $(LOWEST)/requirements.txt pyproject.toml
	$(BIN)/uv pip install -q --python $(LOWEST)/bin/python -r $(LOWEST)/requirements.txt
	$(BIN)/uv pip install -q --python $(LOWEST)/bin/python --no-deps -e .
	touch $@

run: $(STAMP)
	$(BIN)/mockserver serve $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check mockserver tests

# The browser test (tests/test_ui_browser.py) drives Debian's Chromium. Installed here when it is
# missing and we are root with apt-get (as on CI); anywhere else that test skips, saying why.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& { DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 \
		     || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1; }; } \
		|| echo "chromium is not installed: the browser test will be skipped"; }

test: $(STAMP) lint browser
	$(BIN)/python -m pytest -q
	$(MAKE) --no-print-directory test-lowest

test-lowest: $(LOWEST_STAMP)
	$(LOWEST)/bin/python -m pytest -q $(LOWEST_TESTS)

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(LOWEST) build *.egg-info
