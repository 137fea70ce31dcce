"""One HTTP/1.1 exchange written and read by hand: the wire path's PutEvents posts (connections.py).

Why not http.client for these: at Lambda's small CPU shares the forwarder is CPU-bound, and
http.client spends a quarter of a request's CPU on generic work (eight `putheader` calls, an
`HTTPResponse` object, and the `email` package's header parser, about 35 us per answer alone;
BENCHMARKS.md, "At Lambda's CPU share"). Writing one known request and reading its answer takes a
fraction of that. The bytes sent are those http.client sends (Host if missing, Accept-Encoding:
identity, Content-Length, then the headers in order); the answer is read by RFC 9112's rules as
http.client reads it: interim (1xx) answers skipped, the body by chunked or Content-Length, else up
to the close; HTTP/1.0 closes unless it says keep-alive.

Where http.client is lax about framing, RFC 9112 decides, so that a hostile answer never makes the
next answer on a reused connection start in the wrong place, nor takes unbounded memory:

- Content-Length: differing values, or one that is not digits, are refused (section 6.3);
- Transfer-Encoding overrides it: chunked last is de-chunked, any other coding read up to the close;
  with a Content-Length too, or in HTTP/1.0, the connection closes after the answer (section 6.1);
- a 204 or 304 has no body, whatever its headers; with a framing header other than Content-Length: 0 it
  closes the connection, as a 101 does (no Upgrade is ever asked for); any Connection header's "close" closes;
- a chunk ends in CRLF, its size is hex digits; a status code is three ASCII digits from 100;
- a whitespace-led line before the first header, or a field name with whitespace in it, is ignored
  (sections 2.2 and 5.1; http.client ignores them too);
- every header or trailer line, folded or not, counts towards the limit of 100 (as in http.client), and
  a body is read a step at a time, so a length larger than what arrives costs no more than what arrived;
- a body longer than MAX_ANSWER_BYTES, however it is framed (a Content-Length, chunks without end, or
  bytes up to a close that never comes), is refused with AnswerTooLarge as soon as it is known to be.

Failures raise http.client's own exceptions (RemoteDisconnected, BadStatusLine, LineTooLong,
IncompleteRead, UnknownProtocol, HTTPException for the rest, AnswerTooLarge), so that connections.py
maps them to botocore's. Other bodies (files, iterables) and every other client's requests stay on http.client.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from typing import BinaryIO

MAX_LINE = 65536  # as http.client
MAX_HEADERS = 100
_NO_BODY = frozenset({204, 304})
_READ_STEP = 1 << 16  # bytes a body is read by at a time (PutEvents answers are far smaller)
# What any answer to the forwarder's requests may hold. A PutEvents answer is a few KB (ten results, a hundred
# on a Custom Event Bus, each an id, or a code and a short message), as are SQS's and S3's answers to the
# calls the forwarder makes; a peer may send a body without end (a Content-Length of terabytes, chunks that
# never end, bytes until a close that never comes), and each answer is read into memory whole. 1 MiB is
# hundreds of times a real answer, and MAX_CONCURRENCY of them read at once stay far below what a 256 MB
# function can hold (16 MiB at the default 16); past it the answer is refused and its request fails like a
# lost connection (connections.py), retried as one.
MAX_ANSWER_BYTES = 1 << 20


class AnswerTooLarge(http.client.HTTPException):
    """An answer's body is longer than the bound it is read with (MAX_ANSWER_BYTES)."""

    def __init__(self, limit: int):
        super().__init__(f"the answer's body is longer than {limit} bytes")


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
    fields = [f"{name}: {value}" for name, value in headers.items()]
    joined = "".join(fields)  # a CR or LF in it is in a name or a value: one test for all of them
    if "\r" in joined or "\n" in joined:
        _refuse_line_breaks(headers)
    lines += fields
    lines += ["", ""]
    return "\r\n".join(lines).encode("latin-1") + body


def _refuse_line_breaks(headers: dict[str, str]) -> None:
    """Raise ValueError naming the first header with CR or LF in its name or value (one is known to have)."""
    for name, value in headers.items():
        if any(c in name or c in value for c in "\r\n"):
            raise ValueError(f"invalid header {name!r}: {value!r}")


def read_answer(fp: BinaryIO, limit: int = MAX_ANSWER_BYTES) -> tuple[int, dict[str, str], bytes, bool]:
    """(status, headers by `header_map`, body, whether the connection closes after it) from `fp`; a body over
    `limit` bytes raises AnswerTooLarge."""
    while True:
        version, status = _status_line(fp)
        headers = _headers(fp)
        if not 100 <= status < 200 or status == 101:
            break
    return _framed(version, status, header_map(headers), fp, limit)


def read_received(receive: Callable[[], bytes], limit: int = MAX_ANSWER_BYTES
                  ) -> tuple[int, dict[str, str], bytes, bool, bool]:
    """`read_answer`'s reading of the bytes `receive` gives (what one receive from the socket brings, b"" once the
    peer closed), and whether bytes came beyond the answer.

    A head is parsed whole from what was received (one receive usually brings the whole answer): no call per line,
    nor the three layers of a file over a socket per receive. A head that does not end within MAX_LINE bytes, or
    that the peer cut short, is read line by line as read_answer reads it; so are chunked and close-delimited
    bodies. Tests feed both readers, and http.client, the same bytes split into receives anywhere."""
    fp = Received(receive)
    while True:
        head = fp.head()
        if head is None:
            version, status = _status_line(fp)
            headers = _headers(fp)
        else:
            end = head.index(b"\n") + 1
            version, status = _status(head[:end])
            lines = head[end:].decode("iso-8859-1").split("\n")[:-2]  # without the blank line and its ending
            if len(lines) > MAX_HEADERS:  # the head, so every line, is shorter than MAX_LINE: only their number
                raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
            found = _field_map(lines)
        if not 100 <= status < 200 or status == 101:
            break
    if head is None:
        found = header_map(headers)
    status, found, body, will_close = _framed(version, status, found, fp, limit)
    return status, found, body, will_close, fp.unread()


class Received:
    """What a socket received of an answer and was not read yet, and `receive` for more: `readline` and `read` as
    the readers of a file call them, and `head` for a whole head at once.

    `read(n)` returns what is there, up to n bytes, or what one receive brings (b"" at the end): every reader here
    reads in a loop, and a peer's length never makes it wait for, nor allocate, more than arrived."""

    __slots__ = ("_data", "_pos", "_receive")

    def __init__(self, receive: Callable[[], bytes]):
        self._data, self._pos, self._receive = b"", 0, receive

    def head(self) -> bytes | None:
        """The next head (status line to blank line, as readline would give its lines), received as needed, if it
        ends within MAX_LINE bytes; else None, with nothing taken: the peer closed first, or a line may be too
        long (line by line, `_line` says which)."""
        while True:
            data, pos = self._data, self._pos
            first = data.find(b"\n", pos)  # the status line's end: the blank line comes after it
            if first >= 0:
                crlf = data.find(b"\n\r\n", first)
                lf = data.find(b"\n\n", first, len(data) if crlf < 0 else crlf + 1)  # a bare LF's blank line before
                stop = lf + 2 if lf >= 0 else crlf + 3 if crlf >= 0 else -1
                if stop >= 0:
                    if stop - pos >= MAX_LINE:
                        return None
                    self._pos = stop
                    return data[pos:stop]
            if len(data) - pos >= MAX_LINE or not self._more():
                return None

    def readline(self, limit: int) -> bytes:
        while True:
            data, pos = self._data, self._pos
            end = data.find(b"\n", pos, pos + limit)
            if end >= 0:
                stop = end + 1
            elif len(data) - pos >= limit:
                stop = pos + limit
            elif self._more():
                continue
            else:
                stop = len(data)  # the peer closed: what is left, or b""
            self._pos = stop
            return data[pos:stop]

    def read(self, size: int) -> bytes:
        if self._pos >= len(self._data) and (not size or not self._more()):  # read(0) waits for nothing
            return b""
        data, pos = self._data, self._pos
        self._pos = stop = min(pos + size, len(data))
        return data[pos:stop]

    def unread(self) -> bool:
        """Whether bytes were received that no read took."""
        return self._pos < len(self._data)

    def _more(self) -> bool:
        part = self._receive()
        if not part:
            return False
        self._data, self._pos = self._data[self._pos:] + part, 0
        return True


def _framed(version: str, status: int, found: dict[str, str], fp: BinaryIO | Received, limit: int
            ) -> tuple[int, dict[str, str], bytes, bool]:
    """The final answer's body, read by its framing, and whether the connection closes after it."""
    connection = found.get("connection", "").lower()
    will_close = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection
                                           and "keep-alive" not in found)
    if status == 101:  # a switch nobody asked for (no Upgrade is sent): what follows is another protocol
        return status, found, b"", True
    if status in _NO_BODY:  # none, whatever the headers say (RFC 9112, 6.3); framing headers put it in doubt
        return status, found, b"", will_close or "transfer-encoding" in found or found.get("content-length", "0") != "0"
    if "transfer-encoding" in found:  # overrides Content-Length
        will_close = will_close or version == "HTTP/1.0" or "content-length" in found
        if found["transfer-encoding"].lower().rsplit(",", 1)[-1].strip() == "chunked":
            return status, found, _chunked(fp, limit), will_close
        return status, found, up_to_close(fp, limit), True  # delimited by the close (RFC 9112, 6.3)
    length = _length(found.get("content-length"))
    if length is None:
        return status, found, up_to_close(fp, limit), True  # delimited by the close
    if length > limit:
        raise AnswerTooLarge(limit)  # refused before a byte of it is read
    return status, found, _exactly(fp, length), will_close


def up_to_close(fp: BinaryIO | Received, limit: int) -> bytes:
    """What `fp` gives until its end (read(), with or without a size, returns b""), at most `limit` bytes."""
    parts, size = [], 0
    while part := fp.read(min(_READ_STEP, limit + 1 - size)):
        parts.append(part)
        size += len(part)
        if size > limit:
            raise AnswerTooLarge(limit)
    return b"".join(parts)


def _exactly(fp: BinaryIO | Received, length: int) -> bytes:
    """`length` bytes, read a step at a time: a buffered read of n bytes allocates n before the peer sent
    any, so a hostile length (Content-Length or chunk size) would raise MemoryError or exhaust memory."""
    parts, left = [], length
    if length <= _READ_STEP:  # the usual answer: one read, as the loop's first
        whole = fp.read(length)
        if len(whole) == length:
            return whole
        if not whole:
            raise http.client.IncompleteRead(b"", left)
        parts, left = [whole], length - len(whole)
    while left:
        part = fp.read(min(left, _READ_STEP))
        if not part:
            raise http.client.IncompleteRead(b"".join(parts), left)
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def header_map(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Lower-case names; a repeated header's values joined with ", " (RFC 9110, 5.3), as botocore's urllib3
    session joins them."""
    found: dict[str, str] = {}
    for name, value in headers:
        name = name.lower()
        found[name] = f"{found[name]}, {value}" if name in found else value
    return found


def _line(fp: BinaryIO | Received) -> bytes:
    line = fp.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise http.client.LineTooLong("header line")
    return line


def _status_line(fp: BinaryIO | Received) -> tuple[str, int]:
    return _status(_line(fp))


def _status(line: bytes) -> tuple[str, int]:
    if not line:
        raise http.client.RemoteDisconnected("Remote end closed connection without response")
    parts = line.decode("iso-8859-1").split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not _digits(parts[1]) or len(parts[1]) != 3 \
            or parts[1] < "100":
        raise http.client.BadStatusLine(line)
    if not parts[0].startswith("HTTP/1."):
        raise http.client.UnknownProtocol(parts[0])
    return parts[0], int(parts[1])


def _digits(text: str) -> bool:
    """Only 0-9: str.isdigit also takes superscripts and other scripts' digits, which int() refuses."""
    return text.isascii() and text.isdigit()


def _headers(fp: BinaryIO | Received) -> list[tuple[str, str]]:
    lines: list[str] = []
    readline = fp.readline  # `_line`, written out: once per header line
    while (line := readline(MAX_LINE + 1)) not in (b"\r\n", b"\n", b""):
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        if len(lines) == MAX_HEADERS:  # every line counts, folded or not: a bound on the memory an answer takes
            raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
        lines.append(line.decode("iso-8859-1"))
    return _fields(lines)


def _fields(lines: list[str]) -> list[tuple[str, str]]:
    """The (name, value) pairs of a head's header lines (with their line ends or without)."""
    headers: list[tuple[str, str]] = []
    for text in lines:
        if text[0] in " \t":  # an obsolete folded line continues the one before; before any, it is ignored
            if headers:
                name, value = headers[-1]
                headers[-1] = (name, f"{value} {text.strip()}")
        elif ":" in text:
            name, value = text.split(":", 1)
            if name.strip() == name:  # "Content-Length : 5" is no Content-Length (RFC 9112, 5.1)
                headers.append((name, value.strip()))
    return headers


def _field_map(lines: list[str]) -> dict[str, str]:
    """`header_map(_fields(lines))`, in one pass when no line is folded (the usual answer)."""
    found: dict[str, str] = {}
    for text in lines:
        if text[0] in " \t":
            return header_map(_fields(lines))
        name, colon, value = text.partition(":")
        if colon and name.strip() == name:
            name, value = name.lower(), value.strip()
            found[name] = f"{found[name]}, {value}" if name in found else value
    return found


def _length(value: str | None) -> int | None:
    """A Content-Length of digits, the same in each of its values, or None for none."""
    if value is None:
        return None
    if value.isdigit() and value.isascii():  # the usual single value, as the general reading below takes it
        return int(value)
    values = {part.strip() for part in value.split(",")}
    if len(values) != 1 or not _digits(length := values.pop()):
        raise http.client.HTTPException(f"invalid Content-Length {value[:40]!r}")  # RFC 9112, 6.3
    return int(length)


def _chunked(fp: BinaryIO | Received, limit: int) -> bytes:
    body = bytearray()  # not a list of chunks: a million one-byte chunks would take tens of bytes each
    while True:
        line = _line(fp)
        size_text = line.split(b";", 1)[0].strip()
        if not size_text or not all(c in b"0123456789abcdefABCDEF" for c in size_text):
            raise http.client.IncompleteRead(bytes(body))
        size = int(size_text, 16)
        if size == 0:
            break
        if len(body) + size > limit:
            raise AnswerTooLarge(limit)  # before the chunk is read: endless chunks end here
        try:
            chunk = _exactly(fp, size)
        except http.client.IncompleteRead as short:
            raise http.client.IncompleteRead(bytes(body) + short.partial) from None
        if _line(fp) not in (b"\r\n", b"\n"):
            raise http.client.IncompleteRead(bytes(body) + chunk)
        body += chunk
    lines = 0
    while _line(fp) not in (b"\r\n", b"\n", b""):  # trailers, not used, as many as headers
        lines += 1
        if lines > MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {MAX_HEADERS} trailer lines")
    return bytes(body)
