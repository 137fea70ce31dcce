"""Reading what a peer sent back, without trusting its shape: PutEvents results, ClientErrors, exceptions.

Everything here is total: whatever the value, it returns (None when an answer cannot be read), and every
text it hands on is bounded (`bounded`), so that a hostile answer can neither crash the publisher nor flood a
log line.

Every string a peer sent (an entry's ErrorMessage and ErrorCode, an error answer's code and message, an
exception's text, which may quote the answer) passes through `bounded` before it is kept in an outcome: from
there it reaches log lines, the quarantine message and put_events' results, and a peer may send a megabyte
of it (60 records failed with a 1 MB message each made 40 MB of log).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

# AWS's error messages are a sentence or two, its codes a name of a few dozen characters: room for any of them,
# while a log line of a failed record stays within a few KB whatever the peer sent.
MAX_PEER_TEXT = 1024
MAX_PEER_CODE = 128


def bounded(text: str, limit: int = MAX_PEER_TEXT) -> str:
    """A peer's text, cut to its first `limit` characters (and a note of how many more there were)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def results(response: Any, count: int) -> list[Any] | None:
    """The per-entry results of a PutEvents answer, or None when it cannot be read. Results match entries by
    position only, so a list of another length could confirm an entry the service never took."""
    found = response.get("Entries") if isinstance(response, dict) else None
    return found if isinstance(found, list) and len(found) == count else None


def result_fields(result: Any) -> list[Any] | None:
    """[ErrorCode, EventId, SuccessCode] of one entry's result (each a str or None), or None if it is not that."""
    if not isinstance(result, dict):
        return None
    # Read once per entry of every answer: three lookups and tests written out (a comprehension and a generator
    # cost as much again).
    code, event_id, success_code = result.get("ErrorCode"), result.get("EventId"), result.get("SuccessCode")
    if not ((code is None or isinstance(code, str)) and (event_id is None or isinstance(event_id, str))
            and (success_code is None or isinstance(success_code, str))):
        return None
    if code is not None and len(code) > MAX_PEER_CODE:
        code = bounded(code, MAX_PEER_CODE)
    return [code, event_id, success_code]


def error_fields(error: ClientError) -> tuple[str, int, str]:
    """Code, HTTP status and message of a ClientError, read without trusting the parsed answer's shape."""
    response = error.response if isinstance(error.response, dict) else {}
    details, metadata = response.get("Error"), response.get("ResponseMetadata")
    details = details if isinstance(details, dict) else {}
    metadata = metadata if isinstance(metadata, dict) else {}
    code, status = details.get("Code"), metadata.get("HTTPStatusCode")
    code = bounded(code, MAX_PEER_CODE) if isinstance(code, str) and code else "ClientError"
    status = status if isinstance(status, int) else 0
    return code, status, text(details.get("Message")) or describe(error)


def text(value: Any) -> str:
    """A peer's message field as text: itself (bounded) if a str, empty if absent, else in brief."""
    return bounded(value) if isinstance(value, str) else "" if value is None else brief(value)


def brief(value: Any) -> str:
    """A peer's value in a message: short, whatever it is."""
    shown = repr(value)
    return shown if len(shown) <= 80 else f"{shown[:77]}..."


def describe(error: BaseException) -> str:
    """An exception in a message: its name and text (bounded: a ClientError's text quotes the peer's message)."""
    try:
        return bounded(f"{type(error).__name__}: {error}")
    except Exception:  # noqa: BLE001 - an exception whose str() raises still has a name
        return type(error).__name__
