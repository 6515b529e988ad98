# Two commands for a fresh machine: `make serve` starts Lineage, `make test` runs every test.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install serve test lint bench distributed clean train-model

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	# torch first, exactly this version: any other spec pulls a multi-GB CUDA build.
	$(VENV)/bin/pip install --quiet torch==2.13.0
	$(VENV)/bin/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

serve: install
	$(VENV)/bin/lineage serve

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) var

# The production topology on this machine (PostgreSQL + RabbitMQ must be running), a
# studio day of load, and the checker; e.g. make distributed DISTRIBUTED_ARGS='--scale 0.1'
DISTRIBUTED_ARGS ?=
distributed: install
	$(PY) bench/distributed.py $(DISTRIBUTED_ARGS)

# Retrain the built-in model (builtin:sketch) from its procedural scenes and package it
# into workers/builtin/sketch; PRESET=gpu on a machine with CUDA (about 8 min there).
PRESET ?= cpu
train-model: install
	$(PY) -m workers.builtin.train --out var/train --preset $(PRESET)
	$(PY) -m workers.builtin.package --run var/train --into workers/builtin/sketch
