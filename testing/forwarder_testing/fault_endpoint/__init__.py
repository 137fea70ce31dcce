"""The parts of the fault-injecting EventBridge endpoint; import it from ``forwarder_testing.eventbridge_endpoint``.

- ``config``: ``FaultConfig``, its keys and the request fault kinds (the reference of both).
- ``validation``, ``v2_validation``: what the real service refuses, per API (request checks, entry errors).
- ``state``: ``FaultState``, shared by all connections: config, RNG draws and schedules, accepted entries,
  stats, the eventbridgev2 dedup window.
- ``handler``: the HTTP connection and its routes; ``control``: the ``/_fault/`` routes; ``classic`` and
  ``v2``: the PutEvents answers of each API; ``faults``: what a fault does to the connection (reset, hang,
  trickle).
- ``quota``: the PutEvents quota shared by all clients (token buckets in requests/s and entries/s).
- ``server``: ``FaultEndpoint`` (a thread) and ``main`` (a process).
"""
