# Scale: 8 function instances, each its own process, share one PutEvents quota on the fault endpoint; the fixed
# and the adaptive in-flight limit run side by side; prints the figures and writes docs/scale-results.md
# (SCALE_ARGS="--report ''" leaves the page). Exits non-zero when a target of the adaptive policy is missed.
#   make scale
#   make scale SCALE_ARGS="--instances 12 --seconds 30 --rounds 3"
SCALE_ARGS ?=

.PHONY: scale
scale: venv ## run the scale simulation (about two minutes): fixed against adaptive concurrency under one shared quota
	$(PY) -m tools.scale $(SCALE_ARGS)
