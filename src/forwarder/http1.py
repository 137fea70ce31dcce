"""One HTTP/1.1 exchange written and read by hand: the wire path's PutEvents posts (connections.py).

Why not http.client for these: at Lambda's small CPU shares the forwarder is CPU-bound, and
http.client spends a quarter of a request's CPU on generic work (eight `putheader` calls, an
`HTTPResponse` object, and the `email` package's header parser, about 35 us per answer alone;
BENCHMARKS.md, "At Lambda's CPU share"). Writing one known request and reading its answer takes a
fraction of that. The bytes sent are those http.client sends (Host if missing, Accept-Encoding:
identity, Content-Length, then the headers in order); the answer is read by RFC 9112's rules as
http.client reads it: interim (1xx) answers skipped, the body by Content-Length or chunked, else up
to the close; HTTP/1.0 closes unless it says keep-alive.

Failures raise http.client's own exceptions (RemoteDisconnected, BadStatusLine, LineTooLong,
IncompleteRead, UnknownProtocol), so that connections.py maps them to botocore's as before. Other
bodies (files, iterables) and every other client's requests stay on http.client.
"""

from __future__ import annotations

import http.client
from typing import BinaryIO

MAX_LINE = 65536  # as http.client
MAX_HEADERS = 100
_NO_BODY = frozenset({204, 304})


def request_bytes(method: str, target: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    """The request as http.client writes it for a bytes body; a header with CR or LF is refused as there."""
    names = {name.lower() for name in headers}
    lines = [f"{method} {target} HTTP/1.1"]
    if "host" not in names:
        lines.append(f"Host: {host}")
    if "accept-encoding" not in names:
        lines.append("Accept-Encoding: identity")
    if "content-length" not in names:
        lines.append(f"Content-Length: {len(body)}")
    for name, value in headers.items():
        if any(c in name or c in value for c in "\r\n"):
            raise ValueError(f"invalid header {name!r}: {value!r}")
        lines.append(f"{name}: {value}")
    lines += ["", ""]
    return "\r\n".join(lines).encode("latin-1") + body


def read_answer(fp: BinaryIO) -> tuple[int, list[tuple[str, str]], bytes, bool]:
    """(status, header pairs as sent, body, whether the connection closes after it) from `fp`."""
    while True:
        version, status = _status_line(fp)
        headers = _headers(fp)
        if not 100 <= status < 200 or status == 101:
            break
    found = {name.lower(): value for name, value in headers}
    connection = found.get("connection", "").lower()
    will_close = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection
                                           and "keep-alive" not in found)
    if found.get("transfer-encoding", "").lower() == "chunked":  # first, even for a 204, as http.client
        return status, headers, _chunked(fp), will_close
    if status in _NO_BODY or status == 101:
        return status, headers, b"", will_close
    length = _length(found.get("content-length"))
    if length is None:
        return status, headers, fp.read(), True  # delimited by the close
    body = fp.read(length)
    if len(body) < length:
        raise http.client.IncompleteRead(body, length - len(body))
    return status, headers, body, will_close


def _line(fp: BinaryIO) -> bytes:
    line = fp.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise http.client.LineTooLong("header line")
    return line


def _status_line(fp: BinaryIO) -> tuple[str, int]:
    line = _line(fp)
    if not line:
        raise http.client.RemoteDisconnected("Remote end closed connection without response")
    parts = line.decode("iso-8859-1").split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit() or len(parts[1]) != 3:
        raise http.client.BadStatusLine(line)
    if not parts[0].startswith("HTTP/1."):
        raise http.client.UnknownProtocol(parts[0])
    return parts[0], int(parts[1])


def _headers(fp: BinaryIO) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    while (line := _line(fp)) not in (b"\r\n", b"\n", b""):
        if len(headers) > MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
        text = line.decode("iso-8859-1")
        if text[0] in " \t" and headers:  # an obsolete folded line continues the one before
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {text.strip()}")
        elif ":" in text:
            name, value = text.split(":", 1)
            headers.append((name.strip(), value.strip()))
    return headers


def _length(value: str | None) -> int | None:
    try:
        length = int(value) if value is not None else None
    except ValueError:
        return None
    return None if length is None or length < 0 else length


def _chunked(fp: BinaryIO) -> bytes:
    parts = []
    while True:
        line = _line(fp)
        try:
            size = int(line.split(b";", 1)[0], 16)
        except ValueError:
            raise http.client.IncompleteRead(b"".join(parts)) from None
        if size == 0:
            break
        chunk = fp.read(size)
        if len(chunk) < size or not _line(fp):
            raise http.client.IncompleteRead(b"".join(parts) + chunk)
        parts.append(chunk)
    while _line(fp) not in (b"\r\n", b"\n", b""):  # trailers, not used
        pass
    return b"".join(parts)
