"""What tests, tools (tools/) and benchmarks (bench/) share; installed editable by `make venv`.

- ``eventbridge_endpoint``, ``eventbridge_v2``: the fault-injecting PutEvents endpoint (classic and
  Custom Event Bus), in a thread (``FaultEndpoint``), its parts in ``fault_endpoint``; ``endpoint_process``:
  the same as its own process.
- ``local_aws``: moto in server mode on 127.0.0.1, its reset, SQS helpers; ``bus_tap``: what reached a bus.
- ``events``, ``lambda_context``: Lambda events and the context object, as Lambda hands them over.
- ``service``: a scripted PutEvents service for the publisher's tests (no network).
- ``simulation``: Lambda's event source mappings, simulated, driving the handler (soak and tests).
- ``cpu_share``: runs one invocation under a 256 MB function's CPU share (a child process).
"""
