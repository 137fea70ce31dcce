"""Environment variables -> one frozen Settings object, read once per cold start.

Every problem is reported as a ConfigurationError that names the variable, so a wrong
deployment fails at init with a message that says what to fix, before any record is touched.
The readers all settings share are in env_values.py; the ones that know one setting's rules are here.
The endpoint is deliberately not a setting of ours: botocore reads AWS_ENDPOINT_URL and
AWS_ENDPOINT_URL_EVENTBRIDGE itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from jmespath.parser import ParsedResult

from forwarder.config.env_values import (
    ConfigurationError,
    boolean,
    bucket,
    choice,
    expression,
    integer,
    queue_url,
    raw_value,
    required,
)
from forwarder.config.raw_settings import RAW_VARIABLES, RawPayload, raw_payload

MIB = 1024 * 1024
# A Source: at most 256 characters, and never AWS's own prefix (EventBridge refuses it for every entry as
# NotAuthorizedForSourceException, which no redelivery changes).
MAX_SOURCE_CHARS = 256
RESERVED_SOURCE_PREFIX = "aws."
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
MAX_ATTEMPTS_LIMIT = 20
# Reported SQS records: visibility backoff (stages/visibility.py). The cap keeps the longest wait inside a Custom
# Event Bus's 5-minute deduplication window, with a minute for the invocation; the base spreads the first
# retries over seconds. The cap's limit leaves SQS's 12 hours from the receive room for the longest function
# timeout (15 minutes) and batching window (5 minutes).
DEFAULT_VISIBILITY_BACKOFF_MAX_SECONDS = 240
DEFAULT_VISIBILITY_BACKOFF_BASE_SECONDS = 10
MAX_VISIBILITY_BACKOFF_SECONDS = 43_200 - 900 - 300

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
    "VISIBILITY_BACKOFF_MAX_SECONDS",
    "VISIBILITY_BACKOFF_BASE_SECONDS",
    "CONCURRENCY_MODE",
    "EVENT_PAYLOAD",
    *RAW_VARIABLES,
)


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
    # Shaping expressions over the record view (records/view.py, entries/shaping.py), like the two paths above.
    detail_path: ParsedResult | None = None
    resources_path: ParsedResult | None = None
    time_path: ParsedResult | None = None
    filter_path: ParsedResult | None = None
    visibility_backoff_max_seconds: int = DEFAULT_VISIBILITY_BACKOFF_MAX_SECONDS  # 0: off
    visibility_backoff_base_seconds: int = DEFAULT_VISIBILITY_BACKOFF_BASE_SECONDS
    concurrency_mode: str = "adaptive"  # or "fixed" (publish/concurrency.py)
    raw: RawPayload | None = None  # EVENT_PAYLOAD=raw: PutRawEvents on a Custom Event Bus (raw_settings.py)

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
        bus_name = _bus_name(env)
        return cls(
            event_bus_name=bus_name,
            source=_source(env, "EVENT_SOURCE"),
            detail_type=required(env, "EVENT_DETAIL_TYPE", max_len=128),
            detail_type_path=expression(env, "EVENT_DETAIL_TYPE_PATH"),
            source_path=expression(env, "EVENT_SOURCE_PATH"),
            max_request_bytes=integer(env, "PUT_EVENTS_MAX_BYTES", DEFAULT_MAX_BYTES, MIN_MAX_BYTES, MIB),
            max_concurrency=integer(env, "MAX_CONCURRENCY", DEFAULT_MAX_CONCURRENCY, 1, MAX_CONCURRENCY_LIMIT),
            deadline_margin_ms=integer(env, "DEADLINE_MARGIN_MS", DEFAULT_DEADLINE_MARGIN_MS, 0, 60_000),
            max_attempts=integer(env, "MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS, 1, MAX_ATTEMPTS_LIMIT),
            poison_queue_url=queue_url(env, "POISON_QUEUE_URL"),
            endpoint_id=_endpoint_id(env, "EVENT_ENDPOINT_ID"),
            large_payload_bucket=bucket(env, "LARGE_PAYLOAD_BUCKET"),
            event_groups=boolean(env, "EVENT_GROUPS", default=True),
            sns_unwrap=_sns_unwrap(env, "SNS_UNWRAP"),
            detail_path=expression(env, "EVENT_DETAIL"),
            resources_path=expression(env, "EVENT_RESOURCES"),
            time_path=expression(env, "EVENT_TIME"),
            filter_path=expression(env, "EVENT_FILTER"),
            visibility_backoff_max_seconds=(cap := _visibility_cap(env, "VISIBILITY_BACKOFF_MAX_SECONDS")),
            visibility_backoff_base_seconds=_visibility_base(env, "VISIBILITY_BACKOFF_BASE_SECONDS", cap),
            concurrency_mode=choice(env, "CONCURRENCY_MODE", ("adaptive", "fixed")),
            raw=raw_payload(env, CUSTOM_BUS_PATTERN.fullmatch(bus_name) is not None),
        )


def _bus_name(env: Mapping[str, str]) -> str:
    value = raw_value(env, "EVENT_BUS_NAME") or "default"
    if CUSTOM_BUS_PATTERN.fullmatch(value):
        return _reachable(env, value)
    if ":event-busv2/" in value:
        raise ConfigurationError(f"EVENT_BUS_NAME is not a well-formed Custom Event Bus ARN: {value!r}")
    if not _BUS_PATTERN.fullmatch(value) or len(value) > 1600:
        raise ConfigurationError(f"EVENT_BUS_NAME must be an event bus name or ARN, got {value!r}")
    if value.startswith("arn:") and bus_arn(value) is None:  # botocore's pattern is looser than a region
        raise ConfigurationError(f"EVENT_BUS_NAME is a bus ARN without a readable partition and region, got {value!r}")
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


def _source(env: Mapping[str, str], name: str) -> str:
    value = required(env, name, max_len=MAX_SOURCE_CHARS)
    if value.startswith(RESERVED_SOURCE_PREFIX):
        raise ConfigurationError(f"{name} must not start with {RESERVED_SOURCE_PREFIX!r} (kept for AWS), got {value!r}")
    return value


def _sns_unwrap(env: Mapping[str, str], name: str) -> SnsUnwrap:
    """`on` (default), `off`, or a comma-separated list of the topic ARNs whose notifications are unwrapped."""
    raw = raw_value(env, name)
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


def _visibility_cap(env: Mapping[str, str], name: str) -> int:
    """`off` (0), or the longest visibility backoff in seconds."""
    raw = raw_value(env, name).lower()
    if raw == "off":
        return 0
    if raw and not raw.isdigit():
        raise ConfigurationError(f"{name} must be off or a whole number of seconds, got {raw!r}")
    return integer(env, name, DEFAULT_VISIBILITY_BACKOFF_MAX_SECONDS, 1, MAX_VISIBILITY_BACKOFF_SECONDS)


def _visibility_base(env: Mapping[str, str], name: str, cap: int) -> int:
    """At most the cap; by default 10 seconds, or the cap when that is smaller."""
    default = min(DEFAULT_VISIBILITY_BACKOFF_BASE_SECONDS, cap or DEFAULT_VISIBILITY_BACKOFF_BASE_SECONDS)
    base = integer(env, name, default, 1, MAX_VISIBILITY_BACKOFF_SECONDS)
    if cap and base > cap:
        raise ConfigurationError(f"{name} must be at most VISIBILITY_BACKOFF_MAX_SECONDS ({cap}), got {base}")
    return base


def _endpoint_id(env: Mapping[str, str], name: str) -> str | None:
    value = raw_value(env, name)
    if value and not ENDPOINT_ID_PATTERN.fullmatch(value):
        raise ConfigurationError(f"{name} must be a global endpoint id like 'abcde.veo', got {value!r}")
    return value or None

