"""forwarder.http1 reads every answer as http.client reads it, and writes the request http.client writes.

http.client is the reference: the same bytes go to both, and what they make of them must agree
(status, headers, body, whether the connection closes), for any headers, body and framing.
"""

from __future__ import annotations

import http.client
import io
import socket
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forwarder import http1

TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-ABCXYZ0123456789", min_size=1, max_size=12)
VALUE = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30)
FRAMING = st.sampled_from(["length", "chunked", "close", "none"])


class _Bytes:
    """What http.client.HTTPResponse reads from: a socket whose makefile gives `data`."""

    def __init__(self, data: bytes):
        self.data = data

    def makefile(self, mode: str) -> io.BytesIO:
        return io.BytesIO(self.data)


def _by_http_client(data: bytes) -> tuple[int, dict[str, str], bytes, bool]:
    response = http.client.HTTPResponse(_Bytes(data))
    while True:  # connections.py skips every interim answer, not only 100 Continue
        response.begin()
        if not 100 <= response.status < 200 or response.status == 101:
            break
        response = http.client.HTTPResponse(_Bytes(data[data.index(b"\r\n\r\n") + 4:]))
        data = data[data.index(b"\r\n\r\n") + 4:]
    return response.status, _joined(response.getheaders()), response.read(), bool(response.will_close)


def _by_http1(data: bytes) -> tuple[int, dict[str, str], bytes, bool]:
    status, pairs, body, will_close = http1.read_answer(io.BytesIO(data))
    return status, _joined(pairs), body, will_close


def _joined(pairs: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in pairs:
        out[name.lower()] = f"{out[name.lower()]}, {value}" if name.lower() in out else value
    return out


def _answer(version: str, status: int, headers: list[tuple[str, str]], body: bytes, framing: str,
            cuts: list[int], interim: bool) -> bytes:
    lines = [f"{version} {status} Reason"] + [f"{n}: {v}" for n, v in headers]
    if framing == "length":
        lines.append(f"Content-Length: {len(body)}")
    elif framing == "chunked":
        lines.append("Transfer-Encoding: chunked")
    elif framing == "close":
        lines.append("Connection: close")
    head = "\r\n".join([*lines, "", ""]).encode("latin-1")
    if interim:
        head = b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + head
    if framing != "chunked":
        return head + body
    edges = sorted({0, len(body), *(c % (len(body) + 1) for c in cuts)})
    chunks = [body[a:b] for a, b in zip(edges, edges[1:], strict=False) if b > a]
    return head + b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


@settings(max_examples=300, deadline=None)
@given(version=st.sampled_from(["HTTP/1.1", "HTTP/1.0"]), status=st.sampled_from([200, 204, 400, 413, 429, 500, 503]),
       headers=st.lists(st.tuples(TOKEN, VALUE), max_size=6), body=st.binary(max_size=300), framing=FRAMING,
       cuts=st.lists(st.integers(0, 300), max_size=4), interim=st.booleans())
def test_any_answer_reads_as_http_client_reads_it(version, status, headers, body, framing, cuts, interim):
    # GIVEN headers that do not frame the answer themselves (the framing is drawn apart)
    headers = [(n, v) for n, v in headers
               if n.lower() not in ("content-length", "transfer-encoding", "connection", "keep-alive")]
    # WHEN both read the same bytes
    data = _answer(version, status, headers, body, framing, cuts, interim)
    # THEN they agree on everything connections.py uses
    assert _by_http1(data) == _by_http_client(data)


@pytest.mark.parametrize("data, error", [
    (b"", http.client.RemoteDisconnected),
    (b"garbage\r\n\r\n", http.client.BadStatusLine),
    (b"HTTP/1.1 2000 OK\r\n\r\n", http.client.BadStatusLine),
    (b"HTTP/2.0 200 OK\r\n\r\n", http.client.UnknownProtocol),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", http.client.IncompleteRead),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", http.client.IncompleteRead),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", http.client.IncompleteRead),
    (b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", http.client.LineTooLong),
])
def test_a_broken_answer_raises_http_clients_own_error(data, error):
    with pytest.raises(error):
        http1.read_answer(io.BytesIO(data))


def test_a_folded_header_continues_the_line_before():
    data = b"HTTP/1.1 200 OK\r\nX-Long: one\r\n two\r\nContent-Length: 0\r\n\r\n"
    assert http1.read_answer(io.BytesIO(data))[1] == [("X-Long", "one two"), ("Content-Length", "0")]


def test_a_header_with_a_line_break_is_refused_as_http_client_refuses_it():
    with pytest.raises(ValueError):
        http1.request_bytes("POST", "/", "h", {"X-Trace": "a\r\nInjected: yes"}, b"")


def _sent_by(send) -> bytes:
    """The bytes a client writes for one request, as a peer on 127.0.0.1 reads them."""
    listener = socket.create_server(("127.0.0.1", 0))
    received = bytearray()

    def serve() -> None:
        sock, _ = listener.accept()
        with sock:
            while b"\r\n\r\n" not in received or not received.endswith(b"body"):
                received.extend(sock.recv(65536))
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    server = threading.Thread(target=serve)
    server.start()
    send(listener.getsockname()[1])
    server.join(5)
    listener.close()
    return bytes(received)


@pytest.mark.parametrize("headers", [{"Host": "events.example", "X-Amz-Target": "AWSEvents.PutEvents"},
                                     {"Content-Type": "application/x-amz-json-1.1", "Accept-Encoding": "gzip"}])
def test_the_request_is_byte_for_byte_what_http_client_writes(headers):
    def by_http_client(port: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("POST", "/", b"body", headers)
        connection.getresponse().read()
        connection.close()

    def by_http1(port: int) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(http1.request_bytes("POST", "/", f"127.0.0.1:{port}", headers, b"body"))
            sock.recv(65536)

    expected, got = _sent_by(by_http_client), _sent_by(by_http1)
    assert got.replace(got.split(b"Host: ")[1].split(b"\r\n")[0], b"H") == \
        expected.replace(expected.split(b"Host: ")[1].split(b"\r\n")[0], b"H")
