# Benchmarks: the forwarder beside per-record sending, the AWS docs loop and the SDK floor, in one run.
#   make bench                      the full run (~13 min): BENCHMARKS.md, bench/throughput.png, bench/results.json
#   make bench BENCH_PROFILE=quick  a shorter run (~3 min) while working on performance
#   make bench-report               rewrite BENCHMARKS.md and the chart from bench/results.json
#   make bench-share                only the Lambda-share profile (~3 min full, ~1 min quick), into bench/results.json
BENCH_PROFILE ?= full

.PHONY: bench bench-report bench-share
$(VENV)/.bench-installed: requirements-bench.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-bench.txt
	touch $@

bench: $(VENV)/.bench-installed ## measure throughput, CPU, cold start and memory side by side; writes BENCHMARKS.md
	$(PY) -m bench --profile $(BENCH_PROFILE)

bench-report: $(VENV)/.bench-installed ## rewrite BENCHMARKS.md and bench/throughput.png from bench/results.json
	$(PY) -m bench --from-results bench/results.json

bench-share: $(VENV)/.bench-installed ## rerun only the Lambda-share profile (CPU quota per memory size) into BENCHMARKS.md
	$(PY) -m bench --profile $(BENCH_PROFILE) --only-share
