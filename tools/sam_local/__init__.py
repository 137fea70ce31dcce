"""The shipped template's function under the real `sam local`, in Docker, against moto.

    python -m tools.sam_local invoke events/sqs.json          (make sam-local-invoke EVENT=events/sqs.json)
    python -m tools.sam_local start-lambda events/sqs.json    (make sam-local-start-lambda EVENT=...)

What happens, each step said as it is done:

1. The Docker engine (``engine``): Debian's docker.io installed when there is no dockerd, dockerd started in
   the background when the engine does not answer, and left running.
2. The base image SAM builds on, ``public.ecr.aws/lambda/python:3.13-<arch>`` (``base_image``): AWS's when
   Docker has it or can pull it, else a stand-in built here once (Debian trixie's CPython 3.13, awslambdaric,
   AWS's image's paths, environment and entry point) and reused.
3. ``sam build`` of template.yaml with ``Architecture=<arch>`` (this machine's by default: no emulation).
4. moto in server mode on the host's Docker bridge address, with the target bus tapped, the quarantine
   queue and the claim check's bucket (``emulator``); the function is pointed at it through the template's
   ``AWS_ENDPOINT_URL`` in an ``--env-vars`` file, as ``http://host.docker.internal:<port>``.
5. ``sam local invoke --skip-pull-image --add-host host.docker.internal:host-gateway``, or ``sam local
   start-lambda`` and one Invoke through boto3's Lambda client (``command``).
6. The answer on stdout; the events that reached the bus on stderr, as `make invoke` prints them.
"""
