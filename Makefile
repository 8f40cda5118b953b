# The front door: every target calls the CLI or pytest.  `make help` lists them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
RUN ?= checkpoints/default
N ?= 5

.PHONY: help install test lint train folk-base checkpoint sizes demo sample bench clean studio screenshot fuzz codemap

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## make .venv and install musicgen (editable) with the dev tools

test: $(STAMP)  ## set up, then run the whole test suite
	$(BIN)/pytest -q

lint: $(STAMP)  ## ruff: lint and format check
	$(BIN)/ruff check musicgen tests
	$(BIN)/ruff format --check musicgen tests

train: $(STAMP)  ## train a model with the default config on data/abc_tunes into runs/default
	$(BIN)/musicgen train data/abc_tunes --run runs/default

folk-base: $(STAMP)  ## pretrain checkpoints/folk-base on music21's Irish collections + ours (90 min)
	$(BIN)/musicgen train music21:oneills1850 music21:ryansMammoth data/abc_tunes --leave-out checkpoints/default --run checkpoints/folk-base --weight-decay 0.05 --force --max-minutes 90 --epochs 100 --val-fraction 0.05 --quiet
	rm -rf checkpoints/folk-base/resume

checkpoint: $(STAMP)  ## regenerate checkpoints/default: folk-base fine-tuned on data/abc_tunes (5 min)
	$(BIN)/musicgen train data/abc_tunes --init checkpoints/folk-base --run checkpoints/default --learning-rate 0.0005 --epochs 2 --force --quiet
	rm -rf checkpoints/default/resume

sizes: $(STAMP)  ## fine-tune folk-base on 25/100/400 airdsAirs tunes vs scratch (runs/sizes)
	$(BIN)/python -m musicgen.evaluation.sizes --base checkpoints/folk-base --out runs/sizes

demo: $(STAMP)  ## set up, then sample 5 tunes (ABC + MIDI) from the bundled model into out/demo
	$(BIN)/musicgen sample --run $(RUN) -n $(N) --seed 1 --out out/demo --force

sample: $(STAMP)  ## sample N tunes from RUN into out/sample
	$(BIN)/musicgen sample --run $(RUN) -n $(N) --out out/sample

bench: $(STAMP)  ## speed benchmarks, as ratios against a lab-style reference loop
	$(BIN)/musicgen bench

fuzz: $(STAMP)  ## 10,000 generated bad inputs per reader (loader, check, render...), in-process
	MUSICGEN_FUZZ=10000 $(BIN)/pytest -q -s -p no:cacheprovider tests/fuzz

studio: $(STAMP)  ## serve the studio page (generate, hear, edit, keep) on http://127.0.0.1:8000/
	$(BIN)/musicgen studio --run $(RUN)

screenshot: $(STAMP)  ## redraw docs/studio.png (the README's picture) in headless chromium
	STUDIO_SCREENSHOT=docs/studio.png $(BIN)/pytest -q tests/studio/test_studio_browser.py -k screenshot

codemap: $(STAMP)  ## rewrite the README's code map from the packages' docstrings
	README_WRITE=1 $(BIN)/pytest -q tests/test_readme.py

clean:  ## remove generated output (keeps .venv and checkpoints)
	rm -rf out runs .pytest_cache .ruff_cache
