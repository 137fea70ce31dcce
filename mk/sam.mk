# Deployment with AWS SAM: tool environments, validation, build, the deployment proofs. Included by the Makefile.
#
# The SAM CLI and checkov each pin dependencies that clash with the project's and with each other's
# (boto3, networkx, pydantic), so each lives in its own virtual environment, built from its own pinned
# requirements file and stamped like the main one. tests/deploy/test_deploy.py calls them by path.

SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
SAM_BUILD_DIR := .aws-sam/build
SAM_REGION ?= $(AWS_DEFAULT_REGION)
# `sam build` looks for python3.13 on PATH; the pyenv shim is not enough, so put the real one first.
SAM_PATH := $(if $(PY313),$(dir $(PY313)):)$(PATH)
# checkov runs offline: no download of its check-to-guideline mapping.
export BC_SKIP_MAPPING := TRUE

.PHONY: sam-venv checkov-venv validate build deploy-test

$(SAM_VENV)/.installed: requirements-sam.txt | python
	test -x $(SAM_VENV)/bin/python || "$(PY313)" -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet -r requirements-sam.txt
	touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt | python
	test -x $(CHECKOV_VENV)/bin/python || "$(PY313)" -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

sam-venv: $(SAM_VENV)/.installed ## create .venv-sam with the pinned AWS SAM CLI, cfn-lint and SAM translator

checkov-venv: $(CHECKOV_VENV)/.installed ## create .venv-checkov with the pinned checkov

validate: sam-venv checkov-venv ## lint template.yaml: sam validate --lint, cfn-lint on the translation, checkov
	$(SAM) validate --lint --region $(SAM_REGION) --template-file template.yaml
	mkdir -p .aws-sam
	$(SAM_VENV)/bin/python tools/sam_translate.py template.yaml .aws-sam/translated.json
	$(SAM_VENV)/bin/cfn-lint .aws-sam/translated.json
	$(CHECKOV) --file template.yaml --framework cloudformation --skip-download --compact --quiet

build: sam-venv ## sam build: package src/, src/requirements.txt and the CRT layer for python3.13 on arm64, no Docker
	PATH="$(SAM_PATH)" $(SAM) build --region $(SAM_REGION) --template-file template.yaml --build-dir $(SAM_BUILD_DIR)

deploy-test: venv sam-venv checkov-venv ## the deployment proofs alone: template lint, build, checkov, rehearsal on moto
	$(PY) -m pytest -m deploy tests/deploy/test_deploy.py
