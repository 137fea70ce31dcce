# Local invoke in the real Lambda runtime client (awslambdaric), without Docker.
#   make invoke EVENT=events/sqs.json
#   make invoke EVENT=events/kinesis.json INVOKE_ARGS="--timeout 5 --endpoint-url http://127.0.0.1:5000"
EVENT ?= events/sqs.json
INVOKE_ARGS ?=

.PHONY: invoke
invoke: venv ## run the handler once on EVENT=events/<file>.json in the Lambda runtime client, with moto
	$(PY) -m tools.local_invoke $(INVOKE_ARGS) "$(EVENT)"
