# One entry point for every task. Each target sets up what it needs on a fresh machine.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Python 3.13 is the Lambda runtime we target. Look on PATH first, then in pyenv.
PY313 := $(shell for c in python3.13 "$$(pyenv prefix 3.13 2>/dev/null | tail -n1)/bin/python3.13" \
            "$$(pyenv prefix 3.13.0 2>/dev/null)/bin/python3.13"; do \
            "$$c" -c 'import sys; assert sys.version_info[:2] == (3, 13)' >/dev/null 2>&1 && { command -v "$$c"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
export AWS_DEFAULT_REGION ?= us-east-1
# tests/deploy/test_deploy.py puts this Python's directory on PATH for `sam build`, which needs a real python3.13.
export PY313
export SAM_CLI_TELEMETRY := 0

.PHONY: help python venv test demo lint clean
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | sort

python:
	@if [ -z "$(PY313)" ]; then \
	  echo "Python 3.13 not found. Install it (e.g. 'pyenv install 3.13' or your OS package python3.13) and retry." >&2; \
	  exit 1; fi

$(VENV)/.installed: requirements-dev.txt src/requirements.txt pyproject.toml testing/pyproject.toml | python
	test -x $(PY) || "$(PY313)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r src/requirements.txt  # the function's lock, every hash checked
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e . -e testing  # the forwarder, and the support package
	touch $@

venv: $(VENV)/.installed ## create .venv with Python 3.13 and the dependencies

# Everything `make test` needs, in this one place: ruff first (`lint`); the SAM CLI, cfn-lint and checkov in
# their own environments (mk/sam.mk), which tests/deploy/test_deploy.py calls; and the bench extras (mk/bench.mk),
# because the benchmark's chart test draws with matplotlib and would otherwise be skipped; `lock-check`
# (mk/release.mk, about a second): src/requirements.txt is what `make lock` would write.
test: lint lock-check sam-venv checkov-venv $(VENV)/.bench-installed ## ruff, then every test: unit, integration on 127.0.0.1, deployment proofs
	$(PY) -m pytest

demo: venv ## run the forwarder against a local AWS emulator and show what reached the bus
	$(PY) tools/demo.py

lint: venv ## ruff on src, tests, tools, bench and the support package (testing)
	$(PY) -m ruff check src tests tools bench testing

# What .gitignore lists, no more: a fresh clone again. (A tool environment that is a link loses the link only.)
clean: ## remove the virtual environments (.venv, .venv-sam, .venv-checkov), build output, caches, soak results
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam .pytest_cache .hypothesis .ruff_cache src/*.egg-info \
	  testing/*.egg-info soak-results.json build dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# Targets added by later work live in mk/*.mk so that each area keeps its own file.
-include mk/*.mk
