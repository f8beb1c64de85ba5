# The two commands of the README: `make demo` (main job) and `make test`.
# Both set everything up first (scripts/setup.sh: Debian packages + .venv) and are
# safe to re-run.
SHELL := /bin/bash
VENV := .venv/bin
ASSETS ?= ../shared/assets
EVAL_X := $(ASSETS)/eembc_kws01/kws01_inputs_int8_1000x49x10x1.npy
EVAL_Y := $(ASSETS)/eembc_kws01/kws01_labels_1000.npy
export EDGEKIT_QUIET ?=
export TF_CPP_MIN_LOG_LEVEL := 3

.PHONY: setup demo demo-quantize test test-slow bench fuzz clean

setup:
	@bash scripts/setup.sh

# Main job: `edgekit deploy` of the bundled sample on the emulated Cortex-M4 with the
# bundled wavs. demo-quantize: the earlier main job: import the sample, quantize it to
# int8 with no data at all (calibration inputs synthesized from its BatchNorm statistics),
# then score the float, the official and the data-free int8 model.
demo: setup
	@mkdir -p build
	$(VENV)/edgekit deploy samples/kws_ref_model.keras --board mps2-an386 --wav samples/wavs/*.wav -o build/deploy_m4

demo-quantize: setup
	$(VENV)/edgekit inspect samples/kws_ref_model.keras
	@mkdir -p build
	$(VENV)/edgekit quantize samples/kws_ref_model.keras --data-free -o build/kws_int8_datafree.tflite
	@if [ -f "$(EVAL_X)" ]; then \
	  for m in samples/kws_ref_model.pt2 samples/kws_ref_model_int8.tflite build/kws_int8_datafree.tflite; do \
	    check=$$([ "$${m##*.}" = tflite ] && echo --check-tflm); \
	    $(VENV)/edgekit eval $$m --inputs $(EVAL_X) --labels $(EVAL_Y) \
	      --input-scale 0.5847029 --input-zero-point 83 $$check || exit 1; \
	  done; \
	else echo "demo: $(EVAL_X) not found: skipping the accuracy check (set ASSETS=...)"; fi

test: setup
	$(VENV)/python -m pytest -q --durations=40

# The full 1000-input checks (nightly-style; not part of `make test`).
test-slow: setup
	$(VENV)/python -m pytest -q -m slow

bench: setup
	$(VENV)/python bench/reference_exactness.py --assets $(ASSETS)
	$(VENV)/python bench/data_free.py --assets $(ASSETS)
	$(VENV)/python bench/codegen_vs_tflm.py --assets $(ASSETS)
	$(VENV)/python bench/kws_audio.py --assets $(ASSETS)
	$(VENV)/python bench/micro_speech.py --assets $(ASSETS)
	$(VENV)/python bench/compression.py --assets $(ASSETS)
	$(VENV)/python bench/sweep.py --assets $(ASSETS)

# Long fuzzing of the model and wav parsers (~21 min; `make test` runs a 1-minute pass).
fuzz: setup
	$(VENV)/python bench/fuzz.py

clean:
	rm -rf .pytest_cache build bench/results
