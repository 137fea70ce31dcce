"""What PutEvents takes as a TraceHeader, shared by the record readers (records/) and the targets without either
importing the other (the readers import Powertools; the library's path through targets/buses.py must not)."""

from __future__ import annotations

from typing import Any

MAX_TRACE_HEADER_CHARS = 500  # PutEvents' TraceHeader (botocore's model; tests/unit/test_trace_context.py checks)


def usable(header: Any) -> str | None:
    """`header` if PutEvents can take it as a TraceHeader (1 to 500 characters), else None: the next one is used."""
    return header if isinstance(header, str) and 0 < len(header) <= MAX_TRACE_HEADER_CHARS else None
