# Soak: 100,000 messages per scenario through the simulated event sources, with faults injected: each
# source (standard SQS, FIFO with quarantine, Kinesis) onto the classic bus and onto a Custom Event Bus
# (standard-v2, fifo-v2, kinesis-v2), two scenarios at a time; prints the figures and writes them to
# soak-results.json and docs/soak-results.md (a partial run too; SOAK_ARGS="--report ''" leaves the page).
#   make soak
#   make soak SOAK_ARGS="--messages 20000 --scenarios fifo,fifo-v2"
SOAK_ARGS ?=

.PHONY: soak
soak: venv ## run the soak (about 10 minutes): nothing lost, every duplicate explained, none on a Custom Event Bus
	$(PY) -m tools.soak $(SOAK_ARGS)
