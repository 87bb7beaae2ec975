# The two commands a newcomer needs (see README.md):
#   make demo   - bootstrap, then restore a ScalarDB deployment on DynamoDB with restore_dynamodb.yml
#                 against the local stand-ins and print the report
#   make test   - bootstrap from nothing, then lint, sanity, unit, stand-in and Molecule tests
# Everything runs from .venv, which tools/bootstrap.sh creates and keeps in sync.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv

.PHONY: help bootstrap demo test lint sanity pytest molecule clean

help:
	@echo "make demo       bootstrap, then run the DynamoDB restore demo against the local stand-ins"
	@echo "make test       bootstrap, then run the whole test suite (what CI runs)"
	@echo "make bootstrap  create .venv with pinned deps, helm 3/4 and kubectl"
	@echo "make lint | sanity | pytest | molecule   one part of the suite"

bootstrap:
	@tools/bootstrap.sh

demo: bootstrap
	@PYTHONPATH=tests $(VENV)/bin/python tools/demo_dynamodb.py $(DEMO_ARGS)

test: bootstrap
	@tools/run_tests.sh all

lint sanity pytest molecule: bootstrap
	@tools/run_tests.sh $@

clean:
	rm -rf .build tests/output .pytest_cache
