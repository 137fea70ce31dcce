"""Settings come from the environment once; a wrong value names its variable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from forwarder.config.settings import DEFAULT_MAX_BYTES, DEFAULT_MAX_CONCURRENCY, ConfigurationError, Settings

REQUIRED = {"EVENT_SOURCE": "my.app", "EVENT_DETAIL_TYPE": "OrderPlaced"}


def test_defaults():
    settings = Settings.from_env(REQUIRED)
    assert settings.event_bus_name == "default"
    assert settings.source == "my.app"
    assert settings.detail_type == "OrderPlaced"
    assert settings.max_request_bytes == DEFAULT_MAX_BYTES == 1024 * 1024
    assert settings.max_concurrency == DEFAULT_MAX_CONCURRENCY
    assert settings.detail_type_path is None and settings.source_path is None


def test_every_setting_is_read():
    env = REQUIRED | {
        "EVENT_BUS_NAME": "arn:aws:events:eu-west-1:123456789012:event-bus/orders",
        "EVENT_DETAIL_TYPE_PATH": "type",
        "EVENT_SOURCE_PATH": "meta.source",
        "PUT_EVENTS_MAX_BYTES": "262144",
        "MAX_CONCURRENCY": "4",
        "DEADLINE_MARGIN_MS": "250",
        "MAX_ATTEMPTS": "3",
    }
    settings = Settings.from_env(env)
    assert settings.event_bus_name.endswith("event-bus/orders")
    assert settings.detail_type_path.search({"type": "T"}) == "T"
    assert settings.source_path.search({"meta": {"source": "s"}}) == "s"
    assert (settings.max_request_bytes, settings.max_concurrency) == (262144, 4)
    assert (settings.deadline_margin_ms, settings.max_attempts) == (250, 3)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"EVENT_DETAIL_TYPE": "T"}, "EVENT_SOURCE"),
        ({"EVENT_SOURCE": "s"}, "EVENT_DETAIL_TYPE"),
        (REQUIRED | {"EVENT_SOURCE": "   "}, "EVENT_SOURCE"),
        (REQUIRED | {"EVENT_DETAIL_TYPE": "x" * 129}, "EVENT_DETAIL_TYPE"),
        (REQUIRED | {"EVENT_BUS_NAME": "bad bus!"}, "EVENT_BUS_NAME"),
        (REQUIRED | {"PUT_EVENTS_MAX_BYTES": "1MB"}, "PUT_EVENTS_MAX_BYTES"),
        (REQUIRED | {"PUT_EVENTS_MAX_BYTES": str(2 * 1024 * 1024)}, "PUT_EVENTS_MAX_BYTES"),
        (REQUIRED | {"MAX_CONCURRENCY": "0"}, "MAX_CONCURRENCY"),
        (REQUIRED | {"MAX_CONCURRENCY": "-3"}, "MAX_CONCURRENCY"),
        (REQUIRED | {"EVENT_DETAIL_TYPE_PATH": "a[["}, "EVENT_DETAIL_TYPE_PATH"),
        (REQUIRED | {"EVENT_SOURCE_PATH": "|"}, "EVENT_SOURCE_PATH"),
        (REQUIRED | {"MAX_ATTEMPTS": "0"}, "MAX_ATTEMPTS"),
        (REQUIRED | {"POISON_QUEUE_URL": "arn:aws:sqs:us-east-1:123456789012:q"}, "POISON_QUEUE_URL"),
        (REQUIRED | {"SNS_UNWRAP": "yes"}, "SNS_UNWRAP"),
        (REQUIRED | {"SNS_UNWRAP": "arn:aws:sns:us-east-1:123456789012:orders,"}, "SNS_UNWRAP"),
        (REQUIRED | {"SNS_UNWRAP": "arn:aws:sqs:us-east-1:123456789012:orders"}, "SNS_UNWRAP"),
        (REQUIRED | {"SNS_UNWRAP": "arn:aws:sns:us-east-1:123456789012:" + "t" * 257}, "SNS_UNWRAP"),
    ],
)
def test_a_wrong_setting_names_its_variable(env, variable):
    with pytest.raises(ConfigurationError, match=variable):
        Settings.from_env(env)


def test_cold_start_fails_naming_the_variable(cold_start, monkeypatch):
    monkeypatch.delenv("EVENT_SOURCE")
    with pytest.raises(ConfigurationError, match="EVENT_SOURCE is required"):
        cold_start()


def test_a_wrong_setting_fails_the_handlers_import_naming_the_variable():
    # Lambda's init imports the handler module: a wrong deployment fails there, before any record is touched.
    env = {**os.environ, "MAX_CONCURRENCY": "lots"}
    run = subprocess.run([sys.executable, "-c", "import forwarder.handler"], env=env, capture_output=True, text=True)
    assert run.returncode != 0
    assert "ConfigurationError: MAX_CONCURRENCY must be a whole number, got 'lots'" in run.stderr


def test_a_custom_event_bus_arn_selects_the_custom_bus():
    arn = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"
    assert Settings.from_env(REQUIRED | {"EVENT_BUS_NAME": arn}).custom_bus
    assert not Settings.from_env(REQUIRED | {"EVENT_BUS_NAME": "orders"}).custom_bus
    with pytest.raises(ConfigurationError, match="not a well-formed Custom Event Bus ARN"):
        Settings.from_env(REQUIRED | {"EVENT_BUS_NAME": "arn:aws:events:us-east-1:123456789012:event-busv2/orders"})
    with pytest.raises(ConfigurationError, match="EVENT_GROUPS"):
        Settings.from_env(REQUIRED | {"EVENT_GROUPS": "maybe"})


def test_the_list_of_variables_is_what_from_env_reads():
    # Tools pass ENVIRONMENT_VARIABLES through to the function: a variable missing there is lost.
    import re
    from pathlib import Path

    from forwarder.config import raw_settings, settings

    text = Path(settings.__file__).read_text() + Path(raw_settings.__file__).read_text()
    read = set(re.findall(r'env, "([A-Z_]+)"', text))
    assert read | {"EVENT_BUS_NAME"} == set(settings.ENVIRONMENT_VARIABLES)


ORDERS = "arn:aws:sns:us-east-1:123456789012:orders"
AUDIT = "arn:aws-us-gov:sns:us-gov-west-1:123456789012:audit.fifo"


@pytest.mark.parametrize(
    ("value", "policy"),
    [("", True), ("on", True), ("OFF", False), (f"{ORDERS}, {AUDIT}", frozenset({ORDERS, AUDIT}))],
)
def test_sns_unwrapping_is_on_off_or_limited_to_listed_topics(value, policy):
    assert Settings.from_env(REQUIRED | {"SNS_UNWRAP": value}).sns_unwrap == policy


def test_cold_start_refuses_a_malformed_sns_unwrap(cold_start):
    with pytest.raises(ConfigurationError, match="SNS_UNWRAP must be on, off or"):
        cold_start(SNS_UNWRAP="arn:aws:sns:us-east-1:1:short-account")
