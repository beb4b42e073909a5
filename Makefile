# Every target installs what it needs: a fresh machine needs only Python 3.11 and make.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv from PATH, or bootstrapped into .tools/ with pip when missing.
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --frozen
# Trust the operating system's certificate store (as pip does), so installs work behind TLS-inspecting proxies.
export UV_SYSTEM_CERTS := 1
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: help install demo deploy test test-faults pytest lint typecheck bench-verdicts bench-extract bench-initiatives bench-crawl bench clean

help:
	@echo "make demo    - install, serve sample pages on 127.0.0.1, run the crawl flow into ./data (SQLite)"
	@echo "make test    - install and run the whole suite (lint, types, tests)"
	@echo "make test-faults - the fault suite (a misbehaving server on 127.0.0.1) and 10,000 fuzz inputs"
	@echo "make deploy  - create or update prefect.yaml's deployments on PREFECT_API_URL's server (says which)"
	@echo "make bench-verdicts | bench-extract | bench-initiatives | bench-crawl"

$(CURDIR)/.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv>=0.13"

# The records parser is compiled with mypyc when a C compiler is there (pure Python otherwise; it says which).
install: $(UV)
	$(UV) sync --frozen --all-groups
	@$(RUN) python -m parsers.build_compiled

demo: install
	$(RUN) initiatives demo

test: install
	$(MAKE) --no-print-directory pytest lint typecheck --keep-going

pytest:
	$(RUN) pytest

# Real crawls against tests/fault_server.py (prints fault -> outcome -> rows lost/duplicated -> trap
# connections) and the fuzz tests at 2,000 examples each (10,000 inputs); make test runs both too, with
# 200 fuzz examples each.
test-faults: install
	INITIATIVES_FUZZ_EXAMPLES=2000 $(RUN) pytest -m faults -p no:randomly

lint:
	$(RUN) ruff check .

typecheck:
	$(RUN) mypy

bench-verdicts: install
	$(RUN) python -m benchmarks.bench_verdicts

bench-extract: install
	$(RUN) python -m benchmarks.bench_extract

bench-initiatives: install
	$(RUN) python -m benchmarks.bench_initiatives

bench-crawl: install
	$(RUN) python -m benchmarks.bench_crawl

# Article-version plausibility on ../shared's news vs edited copies and non-article pages (docs/schema.md).
.PHONY: bench-versions
bench-versions: install
	$(RUN) python -m benchmarks.bench_versions

# Create or update the four deployments of prefect.yaml on the server PREFECT_API_URL points at.
deploy: install
	INITIATIVES_PROJECT_DIR=$(CURDIR) $(RUN) python -m initiatives.deployments

bench: bench-verdicts bench-extract bench-initiatives bench-crawl

clean:
	rm -rf .tools .venv data .pytest_cache .mypy_cache .ruff_cache
