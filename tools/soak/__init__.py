"""`make soak`: the forwarder under faults and load, through the simulated event sources.

For each scenario (standard SQS; FIFO SQS with a POISON_QUEUE_URL quarantine; Kinesis with an
on-failure destination) it sends N messages through `forwarder_testing.simulation`, with the fault-injecting
PutEvents endpoint as the bus, then accounts for every message and every duplicate. Each source runs
twice: onto the classic bus (PutEvents), and onto a Custom Event Bus (`-v2`: EVENT_BUS_NAME is a
Custom Event Bus ARN, so the forwarder publishes through eventbridgev2 with deduplication ids), where
every redelivery must come back DEDUPLICATED and the bus must hold each message once:

    .venv/bin/python -m tools.soak --messages 100000 [--scenarios standard,fifo,kinesis,standard-v2,...]

The endpoint runs as its own process (one per scenario, so its stats are the scenario's): the handler's
threads and the endpoint's then do not share one GIL, which roughly halves the run on two cores. moto
server (also its own process) holds the quarantine queue. Each function instance is its own process
too (`simulation.Workers`), as Lambda's execution environments are.

The parts: ``scenarios`` (the scenarios, messages, faults and handler environment), ``runner`` (one
scenario end to end), ``accounting`` (where every message went; what fails the soak) and ``command``
(the options, the table, the figures written out).

It prints a table and writes the figures to soak-results.json and, as Markdown, docs/soak-results.md;
the exit code is 1 when a message was lost, a duplicate has no cause (on a Custom Event Bus: any
duplicate at all), a healthy message reached a dead-letter place it should not have (FIFO with
quarantine), a poison message reached the bus, or a FIFO group's order broke.
"""

from tools.soak.accounting import account, problems, quarantined_keys
from tools.soak.command import main, table, write_report
from tools.soak.runner import run_scenario
from tools.soak.scenarios import (
    CLASSIC,
    CUSTOM_BUS,
    DEDUP_WINDOW_SECONDS,
    DETAIL_RULES,
    ENTRY_FAULTS,
    POISON,
    REQUEST_FAULTS,
    SCENARIOS,
    SLOW_MS,
    TIMEOUT_MS,
    TRACE,
    Scenario,
    endpoint_config,
    handler_env,
    is_poison,
    make_messages,
    make_source,
)

__all__ = [
    "CLASSIC",
    "CUSTOM_BUS",
    "DEDUP_WINDOW_SECONDS",
    "DETAIL_RULES",
    "ENTRY_FAULTS",
    "POISON",
    "REQUEST_FAULTS",
    "SCENARIOS",
    "SLOW_MS",
    "TIMEOUT_MS",
    "TRACE",
    "Scenario",
    "account",
    "endpoint_config",
    "handler_env",
    "is_poison",
    "main",
    "make_messages",
    "make_source",
    "problems",
    "quarantined_keys",
    "run_scenario",
    "table",
    "write_report",
]
