# Two commands on a fresh machine (only Python and pip needed):
#   make demo   -- set everything up in .venv and run the main job
#   make test   -- set everything up in .venv and run lint + the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/irlax demo

# the tests run in one worker per core (pytest-xdist); the Gymnasium tests (MuJoCo, Box2D, pygame in the
# process) run in processes of their own
# the exact tabular tests run once more in float64 (JAX_ENABLE_X64=1), a supported mode
X64_TESTS := tests/test_planning_exact.py tests/test_sampling.py tests/test_feature_matching.py tests/test_worlds.py \
	tests/test_numerics.py tests/test_tabular_airl.py

# the three runs share one fresh JAX compilation cache (tests/conftest.py): a program one test compiled is loaded, not
# compiled again, by every later test (in any worker) that builds the same program
test: $(BIN)/.installed
	$(BIN)/ruff check src tests benchmarks
	export IRLAX_TEST_COMPILE_CACHE=$$(mktemp -d) && trap 'rm -rf "$$IRLAX_TEST_COMPILE_CACHE"' EXIT && \
	$(BIN)/python -m pytest -q -n auto --dist worksteal --durations=15 --ignore=tests/test_gym.py && \
	$(BIN)/python -m pytest -q -n auto --dist worksteal tests/test_gym.py && \
	JAX_ENABLE_X64=1 $(BIN)/python -m pytest -q -n auto --dist worksteal $(X64_TESTS)

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) runs
