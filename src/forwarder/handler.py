"""The Lambda entry point: the only module that knows Lambda's init and Powertools' Logger and Metrics.

Cold start builds one Forwarder from the environment (a wrong setting fails here, naming the variable)
and registers its SnapStart hooks (function/snapstart.py); each invocation hands its event and context to it
(function/forwarder.py says what becomes of them).
"""

from __future__ import annotations

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


lambda_handler = entry_point(cold_start(os.environ))
