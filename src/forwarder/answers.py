"""Reading what a peer sent back, without trusting its shape: PutEvents results, ClientErrors, exceptions.

Everything here is total: whatever the value, it returns (None when an answer cannot be read), and the
texts it makes for messages are short, so that a hostile answer can neither crash the publisher nor
flood a log line.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

_RESULT_KEYS = ("ErrorCode", "EventId", "SuccessCode")


def results(response: Any, count: int) -> list[Any] | None:
    """The per-entry results of a PutEvents answer, or None when it cannot be read. Results match entries by
    position only, so a list of another length could confirm an entry the service never took."""
    found = response.get("Entries") if isinstance(response, dict) else None
    return found if isinstance(found, list) and len(found) == count else None


def result_fields(result: Any) -> list[Any] | None:
    """[ErrorCode, EventId, SuccessCode] of one entry's result (each a str or None), or None if it is not that."""
    if not isinstance(result, dict):
        return None
    fields = [result.get(key) for key in _RESULT_KEYS]
    return fields if all(value is None or isinstance(value, str) for value in fields) else None


def error_fields(error: ClientError) -> tuple[str, int, str]:
    """Code, HTTP status and message of a ClientError, read without trusting the parsed answer's shape."""
    response = error.response if isinstance(error.response, dict) else {}
    details, metadata = response.get("Error"), response.get("ResponseMetadata")
    details = details if isinstance(details, dict) else {}
    metadata = metadata if isinstance(metadata, dict) else {}
    code, status = details.get("Code"), metadata.get("HTTPStatusCode")
    code = code if isinstance(code, str) and code else "ClientError"
    status = status if isinstance(status, int) else 0
    return code, status, text(details.get("Message")) or describe(error)


def text(value: Any) -> str:
    """A peer's message field as text: itself if a str, empty if absent, else in brief."""
    return value if isinstance(value, str) else "" if value is None else brief(value)


def brief(value: Any) -> str:
    """A peer's value in a message: short, whatever it is."""
    shown = repr(value)
    return shown if len(shown) <= 80 else f"{shown[:77]}..."


def describe(error: BaseException) -> str:
    try:
        return f"{type(error).__name__}: {error}"
    except Exception:  # noqa: BLE001 - an exception whose str() raises still has a name
        return type(error).__name__
