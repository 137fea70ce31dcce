# Releasing: the function's lock, the Python package (PyPI), the Serverless Application Repository entry.
# The version is written once, in pyproject.toml; a release is: bump it there and in template.yaml's
# SemanticVersion (tests hold the two, __version__, --version and CHANGELOG.md's latest release together),
# move CHANGELOG.md's [Unreleased] lines under the new version, `make test`, tag, then:
#   make dist                       sdist and wheel in dist/, checked by twine
#   make upload                     twine upload dist/* (PyPI credentials: ~/.pypirc or TWINE_* variables)
#   make publish SAR_BUCKET=name    sam build, sam package to that bucket, sam publish (an AWS account)
#
# The lock: src/requirements.txt is made from src/requirements.in by uv, for python3.13 on arm64 (the
# function's runtime), with the hash of every distribution of each pinned version (sdist and every wheel,
# so pip on any machine and `sam build`'s arm64 download both check them).
#   make lock                       add what requirements.in gained, keep every other pin
#   make lock LOCK_ARGS=--upgrade   move every pin to the newest release requirements.in allows
#   make lock-check                 fail if the lock is not what `make lock` would write (`make test` runs it
#                                   first); UV_OFFLINE=1 works from uv's cache
UV := $(VENV)/bin/uv
LOCK_ARGS ?=
# The lock lock-check holds to src/requirements.in (tests/deploy/test_release.py gives it broken copies).
LOCK_FILE ?= src/requirements.txt
LOCK_COMPILE = ../$(UV) pip compile --quiet requirements.in --generate-hashes \
  --python-version 3.13 --python-platform aarch64-manylinux_2_28 --custom-compile-command "make lock"
SAR_BUCKET ?=
SAR_PACKAGED := .aws-sam/packaged.yaml

.PHONY: lock lock-check dist upload publish sar-bucket

# uv takes the pins of the file it writes as preferences: compiling onto a copy of the lock keeps its pins.
# It keeps that file's hashes too, so the copy has none: every hash is written afresh from the index (a wrong
# one is replaced by `lock` and shows in `lock-check`'s diff).
PINS_ONLY = sed -e '/^ *--hash=/d' -e 's/ \\$$//'

lock: venv ## regenerate src/requirements.txt (hashed) from src/requirements.in; LOCK_ARGS=--upgrade for new pins
	@copy=$$(mktemp) && trap 'rm -f "$$copy"' EXIT && $(PINS_ONLY) src/requirements.txt >"$$copy" && \
	  (cd src && $(LOCK_COMPILE) $(LOCK_ARGS) --output-file "$$copy") && cp "$$copy" src/requirements.txt

lock-check: venv ## fail unless src/requirements.txt is what `make lock` would write from src/requirements.in
	@copy=$$(mktemp) && trap 'rm -f "$$copy"' EXIT && $(PINS_ONLY) $(LOCK_FILE) >"$$copy" && \
	  (cd src && $(LOCK_COMPILE) --output-file "$$copy") && \
	  diff -u $(LOCK_FILE) "$$copy" >&2 || { echo "$(LOCK_FILE) is not current: run 'make lock'" >&2; exit 1; }

dist: venv ## build the sdist and wheel into dist/ and check them with twine
	rm -rf dist
	$(PY) -m build --outdir dist .
	$(VENV)/bin/twine check --strict dist/*

upload: dist ## upload dist/* to PyPI (maintainers; needs PyPI credentials)
	$(VENV)/bin/twine upload dist/*

publish: sar-bucket build ## publish to the Serverless Application Repository: SAR_BUCKET=<bucket SAR may read> (maintainers)
	$(SAM) package --region $(SAM_REGION) --template-file $(SAM_BUILD_DIR)/template.yaml \
	  --s3-bucket $(SAR_BUCKET) --s3-prefix eventbridge-forwarder --output-template-file $(SAR_PACKAGED)
	$(SAM) publish --region $(SAM_REGION) --template $(SAR_PACKAGED) --fail-on-same-version

sar-bucket:  # before anything is built: publishing needs the bucket
	@test -n "$(SAR_BUCKET)" || { echo "SAR_BUCKET=<an S3 bucket in $(SAM_REGION) whose policy lets serverlessrepo.amazonaws.com s3:GetObject> is required" >&2; exit 1; }
