"""Environment variables -> one frozen Settings object, read once per cold start.

Every problem is reported as a ConfigurationError that names the variable, so a wrong
deployment fails at init with a message that says what to fix, before any record is touched.
The endpoint is deliberately not a setting of ours: botocore reads AWS_ENDPOINT_URL and
AWS_ENDPOINT_URL_EVENTBRIDGE itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

MIB = 1024 * 1024
# The PutEvents request limit is 1 MiB since January 2026; 256 KiB is the old one.
DEFAULT_MAX_BYTES = MIB
MIN_MAX_BYTES = 1024
# Enough requests in flight to hide network latency for a 10,000-record batch, few enough to
# stay far below the smallest regional PutEvents quota for a handful of concurrent invocations.
DEFAULT_MAX_CONCURRENCY = 16
MAX_CONCURRENCY_LIMIT = 256
# Time kept back from the invocation's deadline to report and return.
DEFAULT_DEADLINE_MARGIN_MS = 1000
# How many times one entry is sent at most when EventBridge answers with a retryable code.
DEFAULT_MAX_ATTEMPTS = 6

# Same shape botocore enforces for EventBusName (name or ARN of a classic event bus).
_BUS_PATTERN = re.compile(r"(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus/)?[.\-_A-Za-z0-9]+")
# A Custom Event Bus (eventsv2) is always named by its full ARN, ending in a generated id.
CUSTOM_BUS_PATTERN = re.compile(
    r"arn:aws(-[a-z0-9]+)*:events:[a-z][a-z0-9]*(-[a-z0-9]+)*:[0-9]{12}:event-busv2/[A-Za-z0-9][.\-_A-Za-z0-9]{0,255}/[a-z0-9]{25}"
)

# The parts of a bus ARN (classic or Custom Event Bus) that say where it lives: its requests go to the
# endpoint of its own region, signed for that region, with credentials of its partition.
_BUS_ARN_PARTS = re.compile(r"arn:(aws[a-z0-9-]*):events:([a-z0-9-]+):([0-9]{12}):event-bus(?:v2)?/")


class BusArn(NamedTuple):
    partition: str
    region: str
    account: str


def bus_arn(name: str) -> BusArn | None:
    """The partition, region and account of a bus named by its ARN; None for a bus named by its name."""
    match = _BUS_ARN_PARTS.match(name)
    return BusArn(*match.groups()) if match else None


# An SNS topic ARN as SNS issues it: a partition, a region, a 12-digit account and a topic name of
# at most 256 characters (letters, digits, - and _, with .fifo at the end of a FIFO topic).
SNS_TOPIC_ARN = re.compile(
    r"arn:aws(-[a-z]+)*:sns:[a-z]{2,}(-[a-z]+)+-[0-9]+:[0-9]{12}:(?=[A-Za-z0-9_.-]{1,256}\Z)[A-Za-z0-9_-]+(\.fifo)?"
)
# Which SNS notifications in SQS bodies are unwrapped: every well-formed one (True), none (False),
# or those of the listed topics.
SnsUnwrap = bool | frozenset[str]

# botocore's pattern for a global endpoint's EndpointId.
ENDPOINT_ID_PATTERN = re.compile(r"[A-Za-z0-9\-]+\.[A-Za-z0-9\-]+")


# Every variable Settings.from_env reads (tools that run the function pass these through).
ENVIRONMENT_VARIABLES = (
    "EVENT_BUS_NAME",
    "EVENT_SOURCE",
    "EVENT_DETAIL_TYPE",
    "EVENT_DETAIL_TYPE_PATH",
    "EVENT_SOURCE_PATH",
    "PUT_EVENTS_MAX_BYTES",
    "MAX_CONCURRENCY",
    "DEADLINE_MARGIN_MS",
    "MAX_ATTEMPTS",
    "POISON_QUEUE_URL",
    "EVENT_ENDPOINT_ID",
    "LARGE_PAYLOAD_BUCKET",
    "EVENT_GROUPS",
    "SNS_UNWRAP",
    "EVENT_DETAIL",
    "EVENT_RESOURCES",
    "EVENT_TIME",
    "EVENT_FILTER",
)


class ConfigurationError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    event_bus_name: str
    source: str
    detail_type: str
    detail_type_path: ParsedResult | None = None
    source_path: ParsedResult | None = None
    max_request_bytes: int = DEFAULT_MAX_BYTES
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    deadline_margin_ms: int = DEFAULT_DEADLINE_MARGIN_MS
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    poison_queue_url: str | None = None
    endpoint_id: str | None = None
    large_payload_bucket: str | None = None
    event_groups: bool = True  # Custom Event Bus: EventGroupId from the FIFO group or partition key
    sns_unwrap: SnsUnwrap = True
    # Shaping expressions over the record view (view.py, shaping.py), like the two paths above.
    detail_path: ParsedResult | None = None
    resources_path: ParsedResult | None = None
    time_path: ParsedResult | None = None
    filter_path: ParsedResult | None = None

    @property
    def custom_bus(self) -> bool:
        """True when the target is a Custom Event Bus, published to through eventbridgev2."""
        return CUSTOM_BUS_PATTERN.fullmatch(self.event_bus_name) is not None

    @property
    def bus_region(self) -> str | None:
        """The region of a bus named by its ARN, which may be another account's or region's; None for a name."""
        arn = bus_arn(self.event_bus_name)
        return arn.region if arn else None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        return cls(
            event_bus_name=_bus_name(env),
            source=_required(env, "EVENT_SOURCE", max_len=256),
            detail_type=_required(env, "EVENT_DETAIL_TYPE", max_len=128),
            detail_type_path=_jmespath(env, "EVENT_DETAIL_TYPE_PATH"),
            source_path=_jmespath(env, "EVENT_SOURCE_PATH"),
            max_request_bytes=_integer(env, "PUT_EVENTS_MAX_BYTES", DEFAULT_MAX_BYTES, MIN_MAX_BYTES, MIB),
            max_concurrency=_integer(env, "MAX_CONCURRENCY", DEFAULT_MAX_CONCURRENCY, 1, MAX_CONCURRENCY_LIMIT),
            deadline_margin_ms=_integer(env, "DEADLINE_MARGIN_MS", DEFAULT_DEADLINE_MARGIN_MS, 0, 60_000),
            max_attempts=_integer(env, "MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS, 1, 20),
            poison_queue_url=_queue_url(env, "POISON_QUEUE_URL"),
            endpoint_id=_endpoint_id(env, "EVENT_ENDPOINT_ID"),
            large_payload_bucket=_bucket(env, "LARGE_PAYLOAD_BUCKET"),
            event_groups=_boolean(env, "EVENT_GROUPS", default=True),
            sns_unwrap=_sns_unwrap(env, "SNS_UNWRAP"),
            detail_path=_jmespath(env, "EVENT_DETAIL"),
            resources_path=_jmespath(env, "EVENT_RESOURCES"),
            time_path=_jmespath(env, "EVENT_TIME"),
            filter_path=_jmespath(env, "EVENT_FILTER"),
        )


def _value(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def _required(env: Mapping[str, str], name: str, max_len: int) -> str:
    value = _value(env, name)
    if not value:
        raise ConfigurationError(f"{name} is required and must not be empty")
    if len(value) > max_len:
        raise ConfigurationError(f"{name} must be at most {max_len} characters, got {len(value)}")
    return value


def _bus_name(env: Mapping[str, str]) -> str:
    value = _value(env, "EVENT_BUS_NAME") or "default"
    if CUSTOM_BUS_PATTERN.fullmatch(value):
        return _reachable(env, value)
    if ":event-busv2/" in value:
        raise ConfigurationError(f"EVENT_BUS_NAME is not a well-formed Custom Event Bus ARN: {value!r}")
    if not _BUS_PATTERN.fullmatch(value) or len(value) > 1600:
        raise ConfigurationError(f"EVENT_BUS_NAME must be an event bus name or ARN, got {value!r}")
    return _reachable(env, value)


def _reachable(env: Mapping[str, str], value: str) -> str:
    """A bus ARN whose partition is not its region's, or not the function's, could never be reached: the
    function's credentials sign for its own partition only. A region botocore does not know is let through
    (botocore resolves its endpoint as it would any other)."""
    arn = bus_arn(value)
    if arn is None:
        return value
    from botocore.exceptions import UnknownRegionError
    from botocore.session import get_session  # botocore's partition table (loaded at cold start in any case)

    session = get_session()
    home = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    for region, whose in ((arn.region, "its region"), (home, "this function's region")):
        try:
            partition = session.get_partition_for_region(region) if region else arn.partition
        except UnknownRegionError:
            continue
        if partition != arn.partition:
            raise ConfigurationError(
                f"EVENT_BUS_NAME names a bus in partition {arn.partition!r}, but {whose} {region!r} is in "
                f"partition {partition!r}: its requests could not be signed for it, got {value!r}"
            )
    return value


def _boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _value(env, name).lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def _sns_unwrap(env: Mapping[str, str], name: str) -> SnsUnwrap:
    """`on` (default), `off`, or a comma-separated list of the topic ARNs whose notifications are unwrapped."""
    raw = _value(env, name)
    if raw.lower() in ("", "on"):
        return True
    if raw.lower() == "off":
        return False
    topics = [topic.strip() for topic in raw.split(",")]
    for topic in topics:
        if not SNS_TOPIC_ARN.fullmatch(topic):
            raise ConfigurationError(
                f"{name} must be on, off or a comma-separated list of SNS topic ARNs; not a topic ARN: {topic!r}"
            )
    return frozenset(topics)


def _integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _value(env, name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _queue_url(env: Mapping[str, str], name: str) -> str | None:
    value = _value(env, name)
    if not value:
        return None
    if not re.fullmatch(r"https?://[^\s/]+/[0-9]+/[A-Za-z0-9_-]{1,75}(\.fifo)?", value):
        raise ConfigurationError(f"{name} must be an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)")
    return value


def _bucket(env: Mapping[str, str], name: str) -> str | None:
    value = _value(env, name)
    if value and not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value):
        raise ConfigurationError(f"{name} must be an S3 bucket name (not an ARN or URL), got {value!r}")
    return value or None


def _endpoint_id(env: Mapping[str, str], name: str) -> str | None:
    value = _value(env, name)
    if value and not ENDPOINT_ID_PATTERN.fullmatch(value):
        raise ConfigurationError(f"{name} must be a global endpoint id like 'abcde.veo', got {value!r}")
    return value or None


def _jmespath(env: Mapping[str, str], name: str) -> ParsedResult | None:
    raw = _value(env, name)
    if not raw:
        return None
    try:
        return jmespath.compile(raw)
    except JMESPathError as error:
        raise ConfigurationError(f"{name} is not a valid JMESPath expression: {error}") from None
