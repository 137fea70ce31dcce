"""Run the handler inside the real AWS Lambda Runtime Interface Client, without Docker.

    python -m tools.local_invoke events/sqs.json            (or: make invoke EVENT=events/sqs.json)

What happens, in the order Lambda does it:

1. A local AWS emulator is started (moto in server mode on 127.0.0.1), unless --endpoint-url names one.
   The target event bus is created if it is not ``default``, with a rule and an SQS queue behind it so
   that we can show what reached the bus.
2. A minimal Lambda Runtime API (version 2018-06-01) listens on 127.0.0.1: ``/runtime/invocation/next``,
   ``/runtime/invocation/{id}/response``, ``/runtime/invocation/{id}/error`` and ``/runtime/init/error``.
3. The real runtime client starts as a child process, exactly as Lambda starts it:
   ``python -m awslambdaric forwarder.handler.lambda_handler`` in the code root, with the environment a
   function sees (function name, memory, version, region, _HANDLER, LAMBDA_TASK_ROOT, dummy credentials)
   plus the forwarder's settings taken from our environment and ``AWS_ENDPOINT_URL`` set to the emulator.
4. One event is delivered. The handler's response goes to stdout; the function's logs (the child's
   stdout and stderr) and the events that reached the bus go to stderr.

Exit status: 0 the handler returned; 1 the handler raised (invoke error); 3 init error (the module could
not be imported, e.g. a required setting is missing); 4 timeout; 5 the runtime exited without reporting;
6 the emulator could not be started or prepared; 2 wrong usage.

The parts: ``runtime_api`` (the Runtime API server), ``function`` (the function's environment and
process) and ``command`` (the options, the emulator and bus tap, the invocation and its exit status).
"""
