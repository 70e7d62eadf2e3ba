# Two commands on a fresh machine (only Python and pip needed):
#   make demo   -- set everything up in .venv and run the main job
#   make test   -- set everything up in .venv and run lint + the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

# pip compiles the dependencies' bytecode one file at a time; compileall does it on every core (35 s instead of 44 s
# for the whole install). A failure there only costs speed: Python compiles what it imports either way.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -e '.[dev]'
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null 2>&1 || true
	touch $@

demo: $(BIN)/.installed
	$(BIN)/irlax demo

# the tests run in one worker per core (pytest-xdist); the exact tabular tests run twice, in float32 and in float64
# (a supported mode: JAX_ENABLE_X64=1), see FLOAT64_TOO in tests/conftest.py.
# The test processes compile cheaply (LLVM level 1, XLA's elemental emitter: CHEAP_COMPILE in tests/conftest.py), which
# takes about 40% off the suite; the irlax command and the benchmarks compile with XLA's defaults (faster code).
# The workers compile afresh, without a shared persistent compilation cache: with one (IRLAX_TEST_COMPILE_CACHE,
# tests/conftest.py) three of six whole runs crashed inside XLA's executable serialiser while writing an entry
# (docs/design.md, "Known limits"); set it yourself to trade that risk for speed.
# A test whose worker process crashes runs once more in a fresh worker (pytest-rerunfailures); a test that fails is
# not rerun (--only-rerun names no error any test raises). The crashes seen (inside XLA's compiler, in tests that
# passed alone) came from workers running out of memory maps; tests/conftest.py's bounded_memory_maps now keeps
# them in bounds (docs/design.md, "Known limits").
test: $(BIN)/.installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q -n auto --dist worksteal --durations=15 --reruns 1 \
		--only-rerun "irlax: only a crashed worker's test runs again"

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) runs
