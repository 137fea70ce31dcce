"""Which PutEvents results are worth another try, which are final, which are poison, and how long to wait.

One frozen `RetryPolicy` holds every rule and constant of it, so the publisher's loop only asks it. The
codes of our own (for records that never got an answer from EventBridge) are in core/codes.py; the policy
decides on them as on the service's.
"""

from __future__ import annotations

from dataclasses import dataclass

from forwarder.core.codes import (
    ENTRY_TOO_LARGE,
    INVALID_ARGUMENT,
    INVALID_RECORD,
    REFUSED_ALONE,
    REQUEST_TOO_LARGE,
    SHAPING_FAILED,
)


@dataclass(frozen=True)
class RetryPolicy:
    """Frozen, so one policy is shared safely; the defaults are the service's documented behaviour, and as
    class attributes (`RetryPolicy.poison_codes`) they are the default code sets."""

    max_attempts: int  # sends of one entry, the first included (PublishOptions')
    # InternalFailure is the classic API's name, InternalException the Custom Event Bus's.
    retryable_entry_codes: frozenset[str] = frozenset({"InternalFailure", "InternalException", "ThrottlingException"})
    # Request-level failures worth another try: what botocore's standard retry mode retries (its transient and
    # throttling codes, 5xx and 429); on every path only the publisher retries PutEvents (targets/buses.py).
    retryable_request_codes: frozenset[str] = frozenset({
        "ThrottlingException", "Throttling", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "RequestLimitExceeded", "LimitExceededException", "RequestThrottled",
        "SlowDown", "InternalException", "InternalFailure", "ServiceUnavailable",
        "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
    })
    retryable_status: int = 429  # besides every 5xx
    # Request-level refusals that speak of the entries' content: split like a 413 until the entry at fault
    # is alone. Refusals that speak of the setup (AccessDeniedException, UnrecognizedClientException,
    # InvalidSignatureException, ExpiredTokenException, ResourceNotFoundException for a bus every entry names)
    # refuse every request alike: splitting would turn one refused request into 2n - 1 and change nothing.
    content_request_codes: frozenset[str] = frozenset({"ValidationException", "SerializationException"})
    # A refusal that names a bus one of the entries gives: AWS takes an entry for a bus that does not exist and
    # drops it (EventBridge user guide, "Handling failures with PutEvents"), but an emulator (moto) refuses its
    # whole request. Split like a content refusal, but only while the request's entries name more than one bus:
    # entries that all name the same bus are refused alike, and fail together with the service's own code.
    bus_request_codes: frozenset[str] = frozenset({"ResourceNotFoundException"})
    # Failures that belong to the record itself and will recur on every delivery: such a record may be
    # quarantined. Codes that speak of the setup (AccessDeniedException, NotAuthorizedFor...,
    # InvalidAccountIdException) are left out on purpose: they would sweep healthy records aside.
    poison_codes: frozenset[str] = frozenset(
        {"MalformedDetail", INVALID_ARGUMENT, "RedactionFailure", ENTRY_TOO_LARGE, INVALID_RECORD, SHAPING_FAILED}
    )
    backoff_base_seconds: float = 0.05
    backoff_cap_seconds: float = 2.0
    # Retries whose backoff ends within this much of the first one's go out with it, so that retries from
    # different requests share requests too (fewer requests when many entries fail).
    coalesce_seconds: float = 0.02

    def entry_retryable(self, code: str | None) -> bool:
        """No code and no EventId breaks the API's contract: treated as worth another try."""
        return not code or code in self.retryable_entry_codes

    def refused_whole(self, code: str, status: int, several_buses: bool = False) -> bool:
        """The service refused the request for one entry's content or bus: split it rather than retry or fail it."""
        if status == REQUEST_TOO_LARGE:
            return True
        return 400 <= status < 500 and (
            code in self.content_request_codes or (several_buses and code in self.bus_request_codes)
        )

    def request_retryable(self, code: str, status: int) -> bool:
        return code in self.retryable_request_codes or status >= 500 or status == self.retryable_status

    @staticmethod
    def refused_alone(code: str, status: int, message: str) -> tuple[str, str]:
        """Code and message for an entry refused whole while alone in its request: the entry itself is what the
        service refuses, on every delivery."""
        if status == REQUEST_TOO_LARGE:  # the service counts it larger than we did
            return ENTRY_TOO_LARGE, "a request of this entry alone was refused as too large (HTTP 413)"
        return REFUSED_ALONE, f"{code}: {message} (the service refused a request of this entry alone)"

    def is_poison(self, code: str | None) -> bool:
        return code in self.poison_codes

    def backoff(self, attempts: int, jitter: float) -> float:
        """Seconds to wait before the next send of an entry sent `attempts` times; full jitter, `jitter` in [0, 1]."""
        return jitter * min(self.backoff_cap_seconds, self.backoff_base_seconds * 2 ** (attempts - 1))
