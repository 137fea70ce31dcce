"""EVENT_PAYLOAD and the RAW_* variables -> `RawPayload` (raw mode's settings), or None for JSON mode.

`EVENT_PAYLOAD=raw` sends each record's payload as it is through the Custom Event Bus's PutRawEvents
(entries/raw_entries.py, targets.RawBus); only that bus has the API, so with any other bus the cold start fails,
naming the variable. The variables that only one mode reads are refused in the other, so that a setting
which would silently do nothing fails the cold start instead: RAW_* without raw mode, and in raw mode the
expressions that shape a PutEvents entry (EVENT_DETAIL and the like), which a raw entry does not have.
Content types and the schema registry are checked against botocore's model of PutRawEvents (targets/limits.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jmespath.parser import ParsedResult

from forwarder.config.env_values import ConfigurationError, choice, expression, raw_value

PAYLOAD_MODES = ("json", "raw")
RAW_VARIABLES = (
    "RAW_CONTENT_TYPE",
    "RAW_CONTENT_TYPE_PATH",
    "RAW_METADATA",
    "RAW_SCHEMA_REGISTRY_URI",
    "RAW_SCHEMA_REGISTRY_CONNECTION_ARN",
)
# The expressions that shape a PutEvents entry's fields; a raw entry has none of them (EVENT_FILTER applies).
JSON_ONLY_VARIABLES = ("EVENT_DETAIL", "EVENT_SOURCE_PATH", "EVENT_DETAIL_TYPE_PATH", "EVENT_RESOURCES", "EVENT_TIME")


@dataclass(frozen=True, slots=True)
class RawPayload:
    """Raw mode's settings; None everywhere means: detect the content type, metadata from the attributes."""

    content_type: str | None = None  # RAW_CONTENT_TYPE: every record's, instead of the detected one
    content_type_path: ParsedResult | None = None  # RAW_CONTENT_TYPE_PATH, over the record view
    metadata_path: ParsedResult | None = None  # RAW_METADATA, over the record view
    schema_registry: dict | None = None  # PutRawEvents' SchemaRegistryConfiguration, as botocore takes it


def raw_payload(env: Mapping[str, str], custom_bus: bool) -> RawPayload | None:
    mode = choice(env, "EVENT_PAYLOAD", PAYLOAD_MODES)
    if mode == "json":
        for name in RAW_VARIABLES:
            if raw_value(env, name):
                raise ConfigurationError(f"{name} is read only with EVENT_PAYLOAD=raw (EVENT_PAYLOAD is json)")
        return None
    if not custom_bus:
        raise ConfigurationError(
            "EVENT_PAYLOAD=raw needs a Custom Event Bus (PutRawEvents is its API alone): EVENT_BUS_NAME must be "
            f"its ARN (arn:aws:events:REGION:ACCOUNT:event-busv2/NAME/ID), got {raw_value(env, 'EVENT_BUS_NAME')!r}"
        )
    for name in JSON_ONLY_VARIABLES:
        if raw_value(env, name):
            raise ConfigurationError(
                f"{name} shapes a PutEvents entry, which EVENT_PAYLOAD=raw does not send: unset it "
                "(RAW_METADATA and RAW_CONTENT_TYPE_PATH are raw mode's expressions)"
            )
    return RawPayload(
        content_type=_content_type(env, "RAW_CONTENT_TYPE"),
        content_type_path=expression(env, "RAW_CONTENT_TYPE_PATH"),
        metadata_path=expression(env, "RAW_METADATA"),
        schema_registry=_schema_registry(env, "RAW_SCHEMA_REGISTRY_URI"),
    )


def _content_type(env: Mapping[str, str], name: str) -> str | None:
    from forwarder.entries.raw_format import content_type_problem  # the model's rule, which the records obey too

    value = raw_value(env, name)
    if not value:
        return None
    problem = content_type_problem(value)
    if problem:
        raise ConfigurationError(f"{name} {problem}, got {value!r}")
    return value


def _schema_registry(env: Mapping[str, str], uri_name: str) -> dict | None:
    """The registry, and the connection to a Confluent public registry (RAW_SCHEMA_REGISTRY_CONNECTION_ARN)."""
    from forwarder.targets.limits import request_limit

    connection_name = "RAW_SCHEMA_REGISTRY_CONNECTION_ARN"
    uri, connection = raw_value(env, uri_name), raw_value(env, "RAW_SCHEMA_REGISTRY_CONNECTION_ARN")
    if not uri:
        if connection:
            raise ConfigurationError(f"{connection_name} is read only with {uri_name} (the registry it connects to)")
        return None
    config: dict = {"RegistryUri": uri}
    if connection:
        config["ConfluentPublicRegistryConfiguration"] = {"ConnectionArn": connection}
    limit = request_limit("eventbridgev2", "PutRawEvents", "SchemaRegistryConfiguration")
    problem = limit.problem("SchemaRegistryConfiguration", config)
    if problem:
        name = connection_name if "ConnectionArn" in problem else uri_name
        raise ConfigurationError(f"{name} is not what PutRawEvents takes: {problem}")
    return config
