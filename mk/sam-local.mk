# The shipped template under the real `sam local`, in Docker (tools/sam_local/, docs/local-invoke.md).
#   make sam-local-invoke EVENT=events/sqs.json
#   make sam-local-start-lambda EVENT=events/kinesis.json
# Sets up what is missing, saying so: Debian's docker.io and a running dockerd (root), the base image (AWS's
# when Docker can pull it, else a stand-in built once), `sam build`, moto on the Docker bridge address.
# ARCH=x86_64|arm64 (default: this machine's), LAMBDA_BASE_IMAGE=auto|aws|stand-in (default auto).

.PHONY: sam-local-invoke sam-local-start-lambda

sam-local-invoke: venv sam-venv ## sam local invoke of EVENT=events/<file>.json in Docker, against moto
	$(PY) -m tools.sam_local invoke "$(EVENT)"

sam-local-start-lambda: venv sam-venv ## sam local start-lambda, one Invoke of EVENT through boto3's Lambda client
	$(PY) -m tools.sam_local start-lambda "$(EVENT)"
