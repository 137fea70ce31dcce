#!/bin/sh
# The entry point of AWS's Lambda base images, written for the stand-in image (tools/sam_local/base_image.py):
# the handler is the one argument; without a Runtime API to talk to, the runtime interface emulator provides one.
# `sam local` replaces this entry point with its own emulator (/var/rapid/aws-lambda-rie), which starts
# /var/runtime/bootstrap itself.
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"

RUNTIME_ENTRYPOINT=/var/runtime/bootstrap
if [ -z "${AWS_LAMBDA_RUNTIME_API}" ]; then
  exec /usr/local/bin/aws-lambda-rie "$RUNTIME_ENTRYPOINT"
else
  exec "$RUNTIME_ENTRYPOINT"
fi
