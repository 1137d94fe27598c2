# Cadence developer entry points. The README's quick start is `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup system demo test typecheck bench clean

$(STAMP): pyproject.toml
	.ci/system-deps --python-only
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[plot,fit]' --group test
	touch $@

setup: $(STAMP)  ## virtual environment with cadence, its extras and pytest

system:  ## Debian packages for live audio (PortAudio, PulseAudio); needs root or sudo
	.ci/system-deps

demo: setup  ## the main job: a cadence session on a bundled recording (no microphone needed)
	@mkdir -p out
	$(BIN)/cadence demo --json-report out/demo-session.json --monitor out/demo-session.wav

# make test is what CI runs: a missing sound server fails the `audio` tests instead of skipping
# them (tests/conftest.py); `make test CADENCE_REQUIRE_AUDIO=0` lets them skip.
CADENCE_REQUIRE_AUDIO ?= 1

test: setup system typecheck  ## type check, then all tests, including real PortAudio streams through a PulseAudio null sink
	CADENCE_REQUIRE_AUDIO=$(CADENCE_REQUIRE_AUDIO) .ci/with-pulse $(BIN)/python -m pytest

typecheck: setup  ## mypy on metronome, stepdetect, coach (strict) and cli (looser): [tool.mypy] in pyproject.toml
	$(BIN)/python -m mypy

bench: setup  ## speed and accuracy benchmarks (prints the figures quoted in the README)
	$(BIN)/python -m pip install -q --group bench
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache
