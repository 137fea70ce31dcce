# Scale, in two parts; prints the figures and writes docs/scale-results.md (SCALE_ARGS="--report ''" leaves the
# page); exits non-zero when a target is missed.
# - fleets of 4 to 200 instances (threads running the real Publisher on one virtual clock) on one quota of
#   requests/s and entries/s, at 10 and 50 ms, the quota halving and doubling mid-run (about a minute);
# - 8 function instances, each its own process, over HTTP to the fault endpoint's quota: the fixed and the
#   adaptive in-flight limit side by side (about two minutes).
#   make scale
#   make scale SCALE_ARGS="--part fleet"
#   make scale SCALE_ARGS="--part processes --instances 12 --seconds 30 --rounds 3"
SCALE_ARGS ?=

.PHONY: scale
scale: venv ## run the scale simulation (about four minutes): fleets of 4-200 instances on one quota, and fixed against adaptive concurrency
	$(PY) -m tools.scale $(SCALE_ARGS)
