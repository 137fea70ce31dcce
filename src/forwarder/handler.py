"""The Lambda entry point: the only module that knows Lambda's init and Powertools' Logger and Metrics.

Cold start builds one Forwarder from the environment (a wrong setting fails here, naming the variable)
and registers its SnapStart hooks (function/snapstart.py); Lambda's init (`lambda_init`) then freezes what it
built, for the garbage collector. Each invocation hands its event and context to the Forwarder
(function/forwarder.py says what becomes of them).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics

from forwarder.function import snapstart
from forwarder.function.forwarder import Forwarder, build_forwarder
from forwarder.function.report import Reporter

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "event-forwarder"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "EventForwarder"
# Powertools logs the whole event (message bodies included) at INFO when this is true: pinned off below.
LOG_EVENT_VARIABLE = "POWERTOOLS_LOGGER_LOG_EVENT"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def cold_start(env: Mapping[str, str]) -> Forwarder:
    """What Lambda's init does: one Forwarder for the settings in `env` (ConfigurationError names a wrong one)."""
    forwarder = build_forwarder(env, Reporter(logger, metrics))
    snapstart.register(forwarder)  # Lambda runs the hooks only for a SnapStart version
    if env.get(LOG_EVENT_VARIABLE, "").strip().lower() in ("1", "y", "yes", "t", "true", "on"):  # Powertools' true
        logger.warning(f"{LOG_EVENT_VARIABLE} is ignored: the event holds message bodies, which are never logged")
    return forwarder


def entry_point(forwarder: Forwarder) -> Callable[[dict, Any], dict]:
    """`forwarder.handle` as Lambda calls it: the context in every log line, the metrics flushed after each."""

    @metrics.log_metrics(capture_cold_start_metric=True)
    @logger.inject_lambda_context(log_event=False)  # an explicit False wins over POWERTOOLS_LOGGER_LOG_EVENT
    def lambda_handler(event: dict, context: Any) -> dict:
        return forwarder.handle(event, context)

    return lambda_handler


def lambda_init(env: Mapping[str, str]) -> Callable[[dict, Any], dict]:
    """Lambda's init: the handler for the settings in `env`, and every object made so far frozen (`gc.freeze`).

    What init builds (botocore's models and clients, Powertools, the forwarder: some 55,000 objects the collector
    tracks) lives as long as the process; frozen, the collector never walks it again. Unfrozen, each full
    collection walked it all while a batch ran, about a third of the collector's CPU on a 10,000-record batch
    (bench/notes.md). The garbage init leaves is frozen with it rather than collected first, which would add tens
    of milliseconds to every cold start: none with the defaults, a few hundred small objects (botocore's
    discarded credential providers) in some settings; tests/unit/test_lambda_init.py keeps it that small."""
    handler = entry_point(cold_start(env))
    gc.freeze()
    return handler


lambda_handler = lambda_init(os.environ)
