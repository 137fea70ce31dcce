# Soak: 100,000 messages per scenario (standard SQS, FIFO with quarantine, Kinesis) through the
# simulated event sources, with faults injected; prints the figures and writes soak-results.json.
#   make soak
#   make soak SOAK_ARGS="--messages 20000 --scenarios fifo"
SOAK_ARGS ?=

.PHONY: soak
soak: venv ## run the soak (about 10 minutes): nothing lost, every duplicate explained
	$(PY) -m tools.soak $(SOAK_ARGS)
