# Breakout: `make run` for the system on this machine, `make test` for the test suite.
# Nothing but Python 3.11 is needed: uv comes from pip, NATS and Postgres start themselves.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Never let uv download an interpreter: use the machine's Python 3.11.
export UV_PYTHON_DOWNLOADS := never
# `pip install --user uv` may land outside PATH; `python3 -m uv` finds it either way.
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
RUN := $(UV) run --frozen
STAMP := .venv/.installed
PYTEST_ARGS ?=
# `make run PRESET=smallcap_top_gainers EXCHANGE=binance`; empty means the default of `breakout run`.
PRESET ?=
EXCHANGE ?=
RUN_WORKDIR ?= .dev/stack
RUN_ARGS ?=

.PHONY: help install lint test bench run fuzz fuzz-atheris chaos

help:
	@echo "make install  install uv (if missing) and the locked environment in .venv"
	@echo "make run      the whole system: NATS + Postgres if needed, exchange_sim, every service,"
	@echo "              a summary in the terminal; PRESET=... EXCHANGE=sim|binance"
	@echo "make test     run the tests against their own (or the configured) NATS + Postgres"
	@echo "make lint     ruff check, ruff format --check, mypy, yamllint, hadolint, compose schema"
	@echo "make bench    run the benchmarks (python -m bench), writes bench/results.json"
	@echo "make fuzz     the fuzz targets at length (FUZZ_EXAMPLES, default 20000 each)"
	@echo "make fuzz-atheris  libFuzzer over the bus decoder (ATHERIS_SECONDS, default 60; Linux)"
	@echo "make chaos    the chaos run at length (CHAOS_FAULTS, default 120; report in .dev/)"

install: $(STAMP)

# Re-sync only when the lock or a project file changed.
$(STAMP): uv.lock pyproject.toml libs/common/pyproject.toml $(wildcard services/*/pyproject.toml)
	@# Plain pip first (a venv), then --user, then past PEP 668 on a distro's own Python.
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv \
		|| python3 -m pip install --quiet --user uv \
		|| python3 -m pip install --quiet --user --break-system-packages uv
	$(UV) sync --frozen
	@touch $@

lint: install
	$(RUN) ruff check .
	$(RUN) yamllint --strict -c deploy/.yamllint.yaml deploy
	$(RUN) hadolint deploy/Dockerfile
	$(RUN) check-jsonschema --builtin-schema vendor.compose-spec deploy/docker-compose.yml
	$(RUN) ruff format --check .
	$(RUN) mypy

test: install
	$(RUN) breakout dev run --workdir .dev/test-stack -- pytest -q $(PYTEST_ARGS)

bench: install
	$(RUN) breakout dev run --workdir .dev/bench-stack -- python -m bench

run: install
	PRESET="$(PRESET)" EXCHANGE="$(EXCHANGE)" $(RUN) bash scripts/run.sh --workdir $(RUN_WORKDIR) $(RUN_ARGS)

# `make test` runs the same targets with 300 examples each, derandomized (reproducible in CI).
fuzz: install
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-20000} FUZZ_RANDOM=1 $(RUN) pytest -q tests/fuzz

# Not in `make test`: atheris is fetched for this run only (Linux wheels; not a dependency).
fuzz-atheris: install
	$(RUN) --with atheris python -m tests.fuzz.atheris_bus \
		-max_total_time=$${ATHERIS_SECONDS:-60} .dev/atheris-bus-corpus

# `make test` runs the chaos test with 10 faults; this runs 120 and a clean run of the processes.
chaos: install
	CHAOS_FAULTS=$${CHAOS_FAULTS:-120} CHAOS_CLEAN=$${CHAOS_CLEAN:-1} \
	CHAOS_REPORT=$${CHAOS_REPORT:-$(CURDIR)/.dev/chaos-report.txt} \
		$(RUN) breakout dev run --workdir .dev/test-stack -- pytest -q -s tests/chaos
