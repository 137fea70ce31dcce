"""Keep-alive HTTP(S) connections to one endpoint, each request bounded by a deadline.

Used by the wire path's PutEvents requests (wire.py) and by every botocore client the function
makes (clients.py sends their signed requests here while a deadline is set).

Why not botocore's HTTP session: under the forwarder's concurrency, urllib3 and botocore's
request and response wrappers cost about as much CPU per request as signing and the body
together (BENCHMARKS.md, "Request path"); and neither bounds a request as a whole. Their read
timeout is per receive, so a peer that answers one byte a second never trips it: the thread
stays blocked and the socket open long after the invocation returned, more of both each warm
invocation, until the process runs out of descriptors. Here every wait of an exchange (connect,
TLS handshake, each send and each receive) is given the time left until the request's deadline
(at most the connect or read timeout), so the whole exchange ends by the deadline and what was
abandoned is closed; a request whose deadline has passed is not started. Once connected, a socket
is non-blocking and each wait is a poll given that time (`_BoundedSocket`): a clock read per wait,
and no more system calls than a blocking socket with a timeout makes (fewer: it polls before each
send and never changes its timeout without one).

The wire path's posts are written and read by http1.py (http.client's generic work costs a
quarter of a request's CPU); every other request goes through the standard library's http.client.
This module keeps idle connections for reuse,
skips interim (1xx) answers as RFC 9110 asks (http.client skips only 100 Continue), and speaks
botocore's language when something fails, so callers treat these errors exactly as botocore's:

- connecting: ConnectTimeoutError (also for a deadline that passed before the request started:
  nothing was sent), SSLError or EndpointConnectionError;
- after the request was written: ReadTimeoutError (the deadline or the read timeout cut it),
  ResponseStreamingError (an answer longer than http1.MAX_ANSWER_BYTES, refused unread) or
  ConnectionClosedError (the request may have landed: the publisher retries its entries, at
  least once, as for botocore's client).

A connection is reused only if the peer sent nothing more than its answer: bytes received beyond
it, bytes left in the TLS layer after it, or bytes readable while it sat idle (the check urllib3
makes, at every checkout) would be taken for the next request's answer; such a connection is
closed instead.

TLS is verified against the CA bundle botocore would use (AWS_CA_BUNDLE, ca_bundle in the
config file, REQUESTS_CA_BUNDLE, then botocore's default). A proxy is not spoken here: callers
leave requests that go through one to botocore's session. Name resolution is not bounded
(getaddrinfo takes no timeout).
"""

from __future__ import annotations

import functools
import http.client
import io
import math
import os
import select
import socket
import ssl
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.exceptions import SSLError as BotocoreSSLError
from botocore.httpsession import get_cert_path

from forwarder.net import http1

Response = tuple[int, dict[str, str], bytes]  # status, headers (lower-case names), body


def ca_bundle(session: Any) -> str | None:
    """The CA bundle botocore would verify TLS with for clients of `session`."""
    return get_cert_path(session.get_config_variable("ca_bundle") or os.environ.get("REQUESTS_CA_BUNDLE") or True)


@functools.cache
def tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """One verifying TLS context per CA bundle for the process: every pool (the wire path's, each client's per
    host) shares it, since reading a bundle's certificates costs about 15 ms. A context only wraps sockets
    here (thread-safe) and is never changed after it is made. A bundle is read once per process."""
    return ssl.create_default_context(cafile=ca_bundle)


class ConnectionPool:
    """`ConnectionPool(url, ...).post(body, headers, deadline) -> (status, headers, body)`; thread-safe.

    `deadline` is on time.monotonic()'s time line (math.inf for none).
    """

    def __init__(self, url: str, connect_timeout: float, read_timeout: float, ca_bundle: str | None = None):
        parts = urlsplit(url)
        self.url = url
        self._path = parts.path or "/"
        self._host, self._https = parts.hostname or "", parts.scheme == "https"
        self._port = parts.port or (443 if self._https else 80)
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._host_header = host if self._port == 80 else f"{host}:{self._port}"  # as http.client writes it
        self._timeouts = (connect_timeout, read_timeout)
        self._tls = tls_context(ca_bundle) if self._https else None
        # Idle connections, most recent last: deque's append and pop are atomic, so no lock is needed.
        self._idle: deque[_Connection] = deque()

    def post(self, body: bytes, headers: dict[str, str], deadline: float = math.inf) -> Response:
        """The wire path's request: written and read by http1 (a fraction of http.client's CPU).

        The answer is parsed from what the socket's receives bring (http1.read_received), with no file between:
        bytes beyond the answer close the connection, as do bytes the TLS layer holds. The failures are mapped
        as `_exchange` maps them, inline (a generator-based context manager costs as much again)."""
        request = http1.request_bytes("POST", self._path, self._host_header, headers, body)
        connection = self._checkout(deadline, self.url)
        sock = connection.sock
        sock.deadline = deadline
        try:
            sock.sendall(request)
            status, headers, data, will_close, unread = http1.read_received(sock.receive)
            will_close = will_close or unread or sock.pending() > 0
        except BaseException as error:
            failure = _failure(connection, self.url, error)
            if failure is error:
                raise
            raise failure from error
        self._release(connection, will_close)
        return status, headers, data

    def request(
        self, method: str, target: str, body: Any, headers: dict[str, str], deadline: float = math.inf,
        url: str | None = None,
    ) -> Response:
        """One exchange on this pool's host; `target` is the path (and query); `url` names it in errors."""
        url = url or self.url
        connection = self._checkout(deadline, url)
        connection.sock.deadline = deadline
        with self._exchange(connection, url):
            connection.request(method, target, body, headers)
            response = connection.getresponse()
            data = _body(response)
            will_close = response.will_close or _left_over(response.fp, connection.sock)
        self._release(connection, will_close)
        return response.status, http1.header_map(response.getheaders()), data

    @contextmanager
    def _exchange(self, connection: _Connection, url: str) -> Iterator[None]:
        """After the request is begun, a failure closes the connection and is botocore's error (`_failure`)."""
        sock = connection.sock  # http.client lets go of it once an answer says it closes: it is closed here too
        try:
            yield
        except BaseException as error:
            sock.close(now=True)
            failure = _failure(connection, url, error)
            if failure is error:
                raise
            raise failure from error

    def _release(self, connection: _Connection, will_close: bool) -> None:
        if will_close:
            connection.close()
        else:
            self._idle.append(connection)

    def close(self) -> None:
        """Close the idle connections (the handler's pool lives as long as its process)."""
        while True:
            try:
                self._idle.pop().close()
            except IndexError:
                return

    def _checkout(self, deadline: float, url: str) -> _Connection:
        if time.monotonic() >= deadline:
            raise ConnectTimeoutError(endpoint_url=url, error=TimeoutError("the deadline passed before the request"))
        while True:
            try:
                connection = self._idle.pop()
            except IndexError:  # none idle (another thread may have taken the last one just now)
                return self._connect(deadline, url)
            if connection.sock is not None and connection.sock.idle_and_open():
                return connection
            connection.close()  # the server closed it while idle: never write a request into that

    def _connect(self, deadline: float, url: str) -> _Connection:
        connect_timeout, read_timeout = self._timeouts
        try:
            sock = socket.create_connection((self._host, self._port), _wait(connect_timeout, deadline))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            if self._tls is not None:
                sock.settimeout(_wait(connect_timeout, deadline))  # the handshake: one bound for all of it
                sock = self._tls.wrap_socket(sock, server_hostname=self._host)
            sock.setblocking(False)  # from here on each wait is a poll bounded by the deadline (_BoundedSocket)
        except TimeoutError as error:
            raise ConnectTimeoutError(endpoint_url=url, error=error) from error
        except ssl.SSLError as error:
            raise BotocoreSSLError(endpoint_url=url, error=error) from error
        except OSError as error:
            raise EndpointConnectionError(endpoint_url=url, error=error) from error
        connection = _Connection(self._host, self._port)
        connection.sock = _BoundedSocket(sock, read_timeout)
        # Never let http.client reconnect on its own: that socket would be unbounded. A closed
        # connection fails instead (ConnectionClosedError).
        connection.auto_open = 0
        return connection


def _failure(connection: _Connection, url: str, error: BaseException) -> BaseException:
    """A request begun on `connection` failed with `error`: close the connection, and return botocore's error for
    it (or `error` itself, to be raised as it is)."""
    connection.close()  # whatever was raised (MemoryError, KeyboardInterrupt too): never reused nor leaked
    if isinstance(error, TimeoutError):
        return ReadTimeoutError(endpoint_url=url, error=error)
    if isinstance(error, http1.AnswerTooLarge):
        return ResponseStreamingError(error=error)  # the rest is never read: where the next answer starts is unknown
    if isinstance(error, (OSError, http.client.HTTPException)):
        return ConnectionClosedError(endpoint_url=url, error=error)
    return error


def _body(response: http.client.HTTPResponse) -> bytes:
    """http.client's answer body, at most http1.MAX_ANSWER_BYTES: a longer Content-Length is refused unread, and
    chunks or bytes up to the close are read a step at a time (read() without a size takes whatever comes)."""
    limit = http1.MAX_ANSWER_BYTES
    if response.length is not None:
        if response.length > limit:
            raise http1.AnswerTooLarge(limit)
        return response.read()
    return http1.up_to_close(response, limit)


def _left_over(answer: io.BufferedReader | None, sock: _BoundedSocket) -> bool:
    """Whether the peer sent more than the answer http.client just read: bytes its reader took beyond it (told
    when http.client closed the reader at the body's end, `_Answer`), or bytes the TLS layer decrypted and holds
    (select and poll never see those). What follows an answer is no answer to any request of ours, and if it is
    left in place the next request would read it as its own."""
    if answer is not None and not answer.closed:
        _tell_left_over(answer, sock)
    return sock.extra or sock.pending() > 0


def _tell_left_over(answer: io.BufferedReader, sock: _BoundedSocket) -> None:
    sock.reading = False  # peek returns what the reader holds, without waiting on the socket
    try:
        if answer.peek(1):
            sock.extra = True
    finally:
        sock.reading = True


def _wait(timeout: float | None, deadline: float) -> float | None:
    """How long the next socket wait may take: the timeout, or less if the deadline comes first (None: no limit)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the request's deadline passed")
    if timeout is None or left < timeout:
        return None if left == math.inf else left
    return timeout


# What one receive takes at most, as a buffered reader's: a PutEvents answer is well under it (a Custom Event Bus's
# hundred results too). Over TLS what a record holds beyond it waits decrypted for the next receive.
RECEIVE_BYTES = 8192


class _BoundedSocket:
    """The connection's socket, non-blocking: sends and receives that wait (each a poll) at most until `deadline`,
    and as http.client uses a socket (sendall, makefile, close).

    A blocking socket with a timeout polls before each receive and each send anyway, and setting the timeout
    costs system calls; here a send is tried at once (the request nearly always fits the socket's buffer) and a
    receive polls first (the answer is rarely there yet: tried first, the receive mostly fails, and raises, for
    1.06x the CPU at 16 threads), so one request costs a send, a poll and a receive.
    Over TLS a receive may find a record not yet whole (SSLWantReadError): it polls again, within the same bound.
    """

    __slots__ = ("_closed", "_readable", "_readers", "_sock", "_timeout", "_tls", "answers", "deadline", "extra",
                 "reading")

    def __init__(self, sock: socket.socket, timeout: float | None):
        self._sock, self._timeout, self.deadline = sock, timeout, math.inf
        self._tls = isinstance(sock, ssl.SSLSocket)
        self.reading = True  # False: a read returns at once with nothing (see _left_over)
        self.extra = False  # the last answer http.client read had bytes after it (see _left_over)
        self.answers = 0  # how many readers of answers were made (not the last one itself: no reference cycle)
        self._readable = select.poll()  # kept: one poll object per connection, not one per wait
        self._readable.register(sock, select.POLLIN)
        # http.client closes its connection when an answer says it will close, and reads the body after: the
        # socket stays open until the reader made for that answer is closed too (as socket.makefile's do).
        self._readers, self._closed = 0, False

    def receive(self) -> bytes:
        """What arrived, at most RECEIVE_BYTES, waiting for some at most the time left; b"" once the peer closed."""
        while True:
            self._wait_readable()
            try:
                return self._sock.recv(RECEIVE_BYTES)
            except (BlockingIOError, ssl.SSLWantReadError):
                continue  # readable, but no whole TLS record yet (or only a handshake message): wait again
            except ssl.SSLWantWriteError:
                self._wait_writable(self.deadline)

    def recv_into(self, buffer: Any) -> int:
        """`receive` into `buffer` (http.client's reader): the number of bytes, 0 once the peer closed."""
        while True:
            self._wait_readable()
            try:
                return self._sock.recv_into(buffer)
            except (BlockingIOError, ssl.SSLWantReadError):
                continue
            except ssl.SSLWantWriteError:
                self._wait_writable(self.deadline)

    def sendall(self, data: bytes) -> None:
        """All of `data`, within the read timeout and the deadline, whichever ends first, as a blocking socket's
        sendall keeps within its timeout."""
        now = time.monotonic()
        until = self.deadline if self._timeout is None else min(self.deadline, now + self._timeout)
        if now >= until:
            raise TimeoutError("the request's deadline passed")
        view, sent = memoryview(data), 0
        while sent < len(view):
            try:
                sent += self._sock.send(view[sent:])
            except (BlockingIOError, ssl.SSLWantWriteError):
                self._wait_writable(until)
            except ssl.SSLWantReadError:
                self._wait_readable()

    def idle_and_open(self) -> bool:
        """An idle keep-alive socket is readable only when the server closed it (or broke protocol: an answer
        nobody asked for); either way it must not carry another request. urllib3 makes the same check."""
        return not (self._tls and self._sock.pending()) and not self._readable.poll(0)

    def _wait_readable(self) -> None:
        timeout = _wait(self._timeout, self.deadline)
        if self._tls and self._sock.pending():
            return  # decrypted bytes wait in the TLS layer, where poll cannot see them
        if not self._readable.poll(None if timeout is None else timeout * 1000):
            raise TimeoutError("timed out")

    def _wait_writable(self, until: float) -> None:
        timeout = _wait(self._timeout, until)
        writable = select.poll()  # rare: only when the socket's buffer is full
        writable.register(self._sock, select.POLLOUT)
        if not writable.poll(None if timeout is None else timeout * 1000):
            raise TimeoutError("timed out")

    def makefile(self, mode: str) -> io.BufferedReader:
        self._readers += 1
        self.extra = False  # a new answer
        self.answers += 1
        return _Answer(_BoundedReader(self), self.answers)

    def reader_closed(self) -> None:
        self._readers -= 1
        if self._closed and not self._readers:
            self._sock.close()

    def fileno(self) -> int:
        return self._sock.fileno()

    def pending(self) -> int:
        """Bytes the TLS layer has decrypted and not yet handed over (0 without TLS)."""
        return self._sock.pending() if self._tls else 0

    def close(self, now: bool = False) -> None:
        """Close the socket once no reader of an answer is open (`now`: whatever is open: the exchange failed)."""
        self._closed = True
        if now or not self._readers:
            self._sock.close()


class _BoundedReader(io.RawIOBase):
    """http.client's answers: read from the socket, each receive given only the time left until the deadline."""

    def __init__(self, bounded: _BoundedSocket):
        self.bounded = bounded

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        if not self.bounded.reading:
            return None  # "nothing yet", as a non-blocking read says it
        return self.bounded.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self.bounded.reader_closed()
        super().close()


class _Answer(io.BufferedReader):
    """http.client's reader of one answer, which it closes once the body is read: what it holds then is told first
    (`_left_over`), since closing drops it and the rest of what the peer sent would start the next answer."""

    raw: _BoundedReader

    def __init__(self, raw: _BoundedReader, number: int):
        super().__init__(raw)
        self.number = number

    def close(self) -> None:
        if not self.closed and self.raw.bounded.answers == self.number:  # not an earlier answer's, collected late
            _tell_left_over(self, self.raw.bounded)
        super().close()


class _Response(http.client.HTTPResponse):
    """An answer that skips interim (1xx) responses, e.g. 103 Early Hints, to reach the final one."""

    def _read_status(self) -> tuple[str, int, str]:
        while True:
            version, status, reason = super()._read_status()
            if not 100 <= status < 200 or status == http.client.SWITCHING_PROTOCOLS:
                return version, status, reason
            http.client.parse_headers(self.fp)  # the interim answer's headers, not the final one's


class _Connection(http.client.HTTPConnection):
    response_class = _Response
    sock: _BoundedSocket
