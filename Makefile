# CRYB node: `make run` serves on http://127.0.0.1:8080 with data in ./data; `make test` runs the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: run test test-fast lint-js soak bench lint format vendor clean binary lighthouse

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -U pip
	$(VENV)/bin/pip install -q -e .
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/cryb serve

test: $(VENV)/.test-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

# The quick loop while working: everything but browser, fuzz and process tests (and `slow`); the
# markers are put on by tests/support/markers.py. `make test` still runs all of them, in one worker.
# Three workers on two cores: the tests wait on sockets and threads as much as they compute. Bytecode
# is cached even where PYTHONDONTWRITEBYTECODE is set: each worker re-compiling ~500 modules and
# rewriting their asserts cost 5 s of CPU.
test-fast: $(VENV)/.test-installed
	env -u PYTHONDONTWRITEBYTECODE $(VENV)/bin/pytest -q -n 3 -m "not (slow or e2e or fuzz or process)"

# The long suites (crash loops, soak) that `make test` leaves out.
soak: $(VENV)/.test-installed
	HYPOTHESIS_PROFILE=explore $(VENV)/bin/pytest -m slow -o addopts="" -o timeout=0
	$(PY) bench/soak.py --clients 1000 --seconds 300

bench: $(VENV)/.test-installed
	$(PY) bench/run.py
	$(PY) bench/writes.py  # durable message sends, 1/16/64 senders x 1/16 channels, beside /healthz and SQLite
	$(PY) bench/fanout.py
	$(PY) bench/search.py  # --docs 100000 1000000 for the issue's figures (--keep DIR reuses corpus and indexes)
	$(PY) bench/media.py
	$(PY) bench/users.py
	$(PY) bench/content.py  # --messages 1000000 --posts 100000 for the issue's 1M/100k figure
	$(PY) bench/replication.py  # --restore-mb 1024 for the 1 GB restore figure
	$(PY) bench/notifications.py  # time until everyone concerned is told (mention, @everyone to 200)
	$(PY) bench/sync.py  # federation catch-up events/s and time to converge (--events 10000)
	$(PY) bench/analytics.py  # analytics consumer ingest and daily rollup time
	$(PY) bench/binary.py  # single-file executable: size and cold start to /readyz
	$(PY) bench/idle.py  # idle RSS of the node and its helper processes, beside a bare aiohttp server
	$(PY) bench/connect.py  # connect storm: time until 10,000 sessions are READY, /healthz meanwhile, RSS

# Lighthouse 12 (pinned in tools/lighthouse/package-lock.json) on the chat page and a forum post page,
# signed in, desktop preset, with Debian's Chromium (CHROME_PATH); needs npm, so it is not in `make test`.
LIGHTHOUSE_RUNS ?= 3
lighthouse: $(VENV)/.test-installed tools/lighthouse/node_modules/.installed
	CHROME_PATH=$${CHROME_PATH:-/usr/bin/chromium} $(PY) bench/lighthouse.py --runs $(LIGHTHOUSE_RUNS)

tools/lighthouse/node_modules/.installed: tools/lighthouse/package-lock.json
	npm ci --prefix tools/lighthouse --no-audit --no-fund
	touch $@

# ESLint 9 (pinned in tools/eslint/package-lock.json) over the web UI's modules and service worker;
# needs npm, so .ci/run calls it beside `make test`.
lint-js: tools/eslint/node_modules/.installed
	tools/eslint/node_modules/.bin/eslint --config tools/eslint/eslint.config.js web/js web/sw.js

tools/eslint/node_modules/.installed: tools/eslint/package-lock.json
	npm ci --prefix tools/eslint --no-audit --no-fund
	touch $@

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

format: $(VENV)/.test-installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# One self-contained executable, dist/cryb, built from a clean (non-editable) install of the project:
# PyInstaller's one-folder build appended to a small C launcher that unpacks it once per version
# (packaging/launcher.c; needs a C compiler and zlib's static library, Debian's zlib1g-dev).
BINARY_VENV := build/binary-venv
CC ?= cc
binary:
	$(PYTHON) -m venv $(BINARY_VENV)
	$(BINARY_VENV)/bin/pip install -q -U pip
	$(BINARY_VENV)/bin/pip install -q . 'pyinstaller>=6.10,<7'
	$(BINARY_VENV)/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath build/onedir \
		--workpath build/pyinstaller packaging/cryb.spec
	$(CC) -O2 -Wall -Wno-format-truncation -o build/launcher packaging/launcher.c -l:libz.a
	mkdir -p dist
	$(BINARY_VENV)/bin/python packaging/sfx.py build/launcher build/onedir/cryb dist/cryb
	@ls -lh dist/cryb

# Refresh the vendored front-end files from the npm registry (versions pinned in web/vendor/VERSIONS).
vendor:
	scripts/vendor-web.sh

clean:
	rm -rf $(VENV) build dist *.egg-info
