"""forwarder.net.http1 reads every answer as http.client reads it, and writes the request http.client writes.

http.client is the reference: the same bytes go to both, and what they make of them must agree
(status, headers, body, whether the connection closes), for any headers, body and framing.
Where http.client is lax about framing (repeated or malformed lengths, codings), RFC 9112 decides.
"""

from __future__ import annotations

import http.client
import io
import socket
import threading
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forwarder.net import http1

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
    return response.status, http1.header_map(response.getheaders()), response.read(), bool(response.will_close)


def _by_http1(data: bytes) -> tuple[int, dict[str, str], bytes, bool]:
    return http1.read_answer(io.BytesIO(data))


def _receives(data: bytes, cuts: list[int], closed: bool = True) -> Callable[[], bytes]:
    """`data` as a socket's receives give it: pieces that end at `cuts` (any of them, any size, one byte too),
    then b"" for ever, as once the peer closed; or, if the peer keeps the connection open (`closed` False), a
    receive past the data fails: it would wait until the deadline for bytes that never come."""
    edges = sorted({0, len(data), *(cut % (len(data) + 1) for cut in cuts)})
    parts = iter([data[a:b] for a, b in zip(edges, edges[1:], strict=False) if b > a])

    def receive() -> bytes:
        part = next(parts, b"")
        if not part and not closed:
            raise AssertionError("a receive after the whole answer came")
        return part

    return receive


def _by_received(data: bytes, cuts: list[int], closed: bool) -> tuple[int, dict[str, str], bytes, bool]:
    status, headers, body, will_close, unread = http1.read_received(_receives(data, cuts, closed))
    assert not unread
    return status, headers, body, will_close


CUTS = st.one_of(st.lists(st.integers(0, 2000), max_size=8), st.just(list(range(2000))))  # or every byte apart


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
       cuts=st.lists(st.integers(0, 300), max_size=4), interim=st.booleans(), receives=CUTS)
def test_any_answer_reads_as_http_client_reads_it(version, status, headers, body, framing, cuts, interim, receives):
    # GIVEN headers that do not frame the answer themselves (the framing is drawn apart)
    headers = [(n, v) for n, v in headers
               if n.lower() not in ("content-length", "transfer-encoding", "connection", "keep-alive")]
    if status == 204:  # no body, and no chunked one (http1 closes a 204 whose framing is in doubt: see below)
        body, framing = b"", "length" if framing == "chunked" else framing
    # WHEN both read the same bytes
    data = _answer(version, status, headers, body, framing, cuts, interim)
    # THEN they agree on everything connections.py uses, whatever the receives the bytes come in
    # (a peer that keeps the connection open is never waited on past the answer's end: only a body delimited by
    # the close reads up to it)
    assert _by_http1(data) == _by_http_client(data) == _by_received(data, receives, closed=framing in ("close", "none"))


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
    assert http1.read_answer(io.BytesIO(data))[1] == {"x-long": "one two", "content-length": "0"}


def test_a_header_with_a_line_break_is_refused_as_http_client_refuses_it():
    with pytest.raises(ValueError):
        http1.request_bytes("POST", "/", "h", {"X-Trace": "a\r\nInjected: yes"}, b"")


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(st.sampled_from("ab:\r\n \u00e9"), min_size=1, max_size=6),
                       st.text(st.sampled_from("ab:\r\n \u00e9"), max_size=6), max_size=4))
def test_a_request_is_refused_exactly_when_a_header_name_or_value_holds_cr_or_lf(headers):
    # One test over the joined header lines stands for one per header; the refusal names the first such header.
    bad = [(name, value) for name, value in headers.items() if any(c in name + value for c in "\r\n")]
    if bad:
        with pytest.raises(ValueError, match="invalid header") as refused:
            http1.request_bytes("POST", "/", "h", headers, b"")
        assert repr(bad[0][0]) in str(refused.value)
    else:
        sent = http1.request_bytes("POST", "/", "h", headers, b"x")
        assert sent.endswith(b"\r\n\r\nx")
        assert all(f"{name}: {value}".encode("latin-1") in sent for name, value in headers.items())


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


# -- where http.client is lax about framing, RFC 9112 decides ---------------------------------------------

OK = b"HTTP/1.1 200 OK\r\n"


@pytest.mark.parametrize("data, error", [
    (OK + b"Content-Length: 2\r\nContent-Length: 5\r\n\r\nabcde", http.client.HTTPException),  # 6.3: differing
    (OK + b"Content-Length: 2, 5\r\n\r\nabcde", http.client.HTTPException),
    (OK + b"Content-Length: +3\r\n\r\nabc", http.client.HTTPException),  # 1*DIGIT, whatever int() takes
    (OK + b"Content-Length: 1_0\r\n\r\n0123456789", http.client.HTTPException),
    (OK + b"Content-Length: zero\r\n\r\n", http.client.HTTPException),
    (b"HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n", http.client.BadStatusLine),
    ("HTTP/1.1 ²³¹ Digits\r\nContent-Length: 0\r\n\r\n".encode("latin-1"), http.client.BadStatusLine),
    (OK + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n", http.client.IncompleteRead),  # no CRLF
    (OK + b"Transfer-Encoding: chunked\r\n\r\n-1\r\nabc\r\n0\r\n\r\n", http.client.IncompleteRead),
    (OK + b"Transfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n", http.client.IncompleteRead),
    (OK + b"X: a\r\n" + b" folded\r\n" * 150 + b"Content-Length: 0\r\n\r\n", http.client.HTTPException),
    (OK + b"no colon\r\n" * 150 + b"Content-Length: 0\r\n\r\n", http.client.HTTPException),
    (OK + b"Transfer-Encoding: chunked\r\n\r\n0\r\n" + b"T: 1\r\n" * 150 + b"\r\n", http.client.HTTPException),
])
def test_an_answer_whose_framing_is_in_doubt_raises(data, error):
    with pytest.raises(error):
        http1.read_answer(io.BytesIO(data))


@pytest.mark.parametrize("data, expected", [
    # The same length repeated is that length (6.3), and keeps the connection.
    (OK + b"Content-Length: 1\r\nContent-Length: 1\r\n\r\nx", (b"x", False)),
    # Any Connection header's close closes, whichever comes last.
    (OK + b"Connection: close\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", (b"", True)),
    # Transfer-Encoding overrides Content-Length; the pair is suspect, so the connection is not reused.
    (OK + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", (b"abc", True)),
    # chunked last is chunked; a coding other than chunked last is read to the close.
    (OK + b"Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", (b"abc", False)),
    (OK + b"Transfer-Encoding: gzip\r\nContent-Length: 1\r\n\r\nabc", (b"abc", True)),
    # A chunked HTTP/1.0 answer closes, whatever it says (6.1).
    (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
     (b"x", True)),
    # A 204 or 304 has no body; framing headers on one leave the connection in doubt (http.client reads a chunked one).
    (b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n", (b"", True)),
    (b"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nabc", (b"", True)),
    (b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", (b"", False)),
    # A protocol switch no request asked for leaves a connection that speaks something else.
    (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n", (b"", True)),
    # Whitespace-led lines before any header, and names with whitespace, are no Content-Length (2.2, 5.1).
    (OK + b" Content-Length: 1\r\n\r\nabc", (b"abc", True)),
    (OK + b"Content-Length : 1\r\n\r\nabc", (b"abc", True)),
])
def test_an_answer_framed_by_rfc_9112_where_http_client_is_lax(data, expected):
    _, _, body, will_close = http1.read_answer(io.BytesIO(data))
    assert (body, will_close) == expected


@pytest.mark.parametrize("head", [OK + b"Content-Length: 900000\r\n\r\n",
                                  OK + b"Transfer-Encoding: chunked\r\n\r\nf0000\r\n"])
def test_a_length_beyond_what_was_sent_is_an_incomplete_read_not_a_memory_error(head):
    # Over a socket, as connections.py reads: a buffered read of n bytes allocates n before any arrive.
    ours, peer = socket.socketpair()
    with ours, peer:
        peer.sendall(head + b"ab")
        peer.shutdown(socket.SHUT_WR)
        with ours.makefile("rb") as answer, pytest.raises(http.client.IncompleteRead) as error:
            http1.read_answer(answer)
    assert error.value.partial == b"ab"


@pytest.mark.parametrize("head", [OK + b"Content-Length: 99999999999999999\r\n\r\n",
                                  OK + b"Content-Length: 1048577\r\n\r\n",
                                  OK + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffff\r\n",
                                  OK + b"Transfer-Encoding: chunked\r\n\r\n" + b"10\r\n" + b"a" * 16 + b"\r\n"
                                  + b"100000\r\n"])
def test_a_length_over_the_bound_is_refused_before_its_body_is_read(head):
    ours, peer = socket.socketpair()
    with ours, peer:
        peer.sendall(head + b"ab")
        peer.shutdown(socket.SHUT_WR)
        with ours.makefile("rb") as answer, pytest.raises(http1.AnswerTooLarge):
            http1.read_answer(answer)


BOUND = http1.MAX_ANSWER_BYTES


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
@pytest.mark.parametrize("size", [BOUND, BOUND + 1])
def test_a_body_is_read_up_to_the_bound_and_refused_past_it(framing, size):
    body = b"x" * size
    head = {"length": f"Content-Length: {size}\r\n", "chunked": "Transfer-Encoding: chunked\r\n", "close": ""}[framing]
    if framing == "chunked":  # in chunks of 1000 bytes and a last shorter one
        body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in
                        (body[i:i + 1000] for i in range(0, size, 1000))) + b"0\r\n\r\n"
    data = OK + head.encode() + b"\r\n" + body
    if size > BOUND:
        with pytest.raises(http1.AnswerTooLarge):
            http1.read_answer(io.BufferedReader(io.BytesIO(data)))
    else:
        assert len(http1.read_answer(io.BufferedReader(io.BytesIO(data)))[2]) == size


# -- read_received: the same reading, from what a socket's receives bring -------------------------------------

# Pieces of answers, well formed and not, that a peer may send in any order.
PIECES = st.sampled_from([
    b"HTTP/1.1 200 OK\r\n", b"HTTP/1.0 200 OK\n", b"HTTP/1.1 204 No Content\r\n", b"HTTP/1.1 103 Early\r\n",
    b"HTTP/1.1 100 Continue\r\n", b"HTTP/1.1 101 Switching\r\n", b"HTTP/2.0 200 OK\r\n", b"HTTP/1.1 099 Low\r\n",
    b"garbage\r\n", b"Content-Length: 3\r\n", b"Content-Length: 0\r\n", b"Content-Length: 2, 2\r\n",
    b"Content-Length: 9\r\n", b"Transfer-Encoding: chunked\r\n", b"Transfer-Encoding: gzip\r\n",
    b"Connection: close\r\n", b"Connection: keep-alive\r\n", b"Keep-Alive: 5\r\n", b"X-A: b\r\n", b"x-a: c\n",
    b" folded\r\n", b"\tfolded\n", b"no colon\r\n", b"Name : v\r\n", b"\r\n", b"\n", b"\r", b"3\r\nabc\r\n",
    b"0\r\n", b"1;ext=1\r\nx\r\n", b"zz\r\n", b"abc", b"\r\n\r\n",
]) | st.binary(max_size=6)


# The same pieces in an answer's order: a status line, header lines (folded ones too), a blank line, a body.
STATUS_LINES = st.sampled_from([b"HTTP/1.1 200 OK\r\n", b"HTTP/1.0 200 OK\n", b"HTTP/1.1 204 No Content\r\n",
                                b"HTTP/1.1 103 Early\r\n", b"HTTP/1.1 500 Oops\r\n"])
HEADER_LINES = st.sampled_from([b"Content-Length: 3\r\n", b"Content-Length: 0\r\n", b"Transfer-Encoding: chunked\r\n",
                                b"Connection: close\r\n", b"Connection: keep-alive\r\n", b"X-A: b\r\n", b"x-a: c\n",
                                b" folded\r\n", b"\tfolded  \n", b"no colon\r\n", b"Name : v\r\n", b"E:\r\n",
                                b"X-B:  spaced  value \r\n"])
ANSWERS = st.tuples(STATUS_LINES, st.lists(HEADER_LINES, max_size=8).map(b"".join), st.sampled_from([b"\r\n", b"\n"]),
                    st.lists(PIECES, max_size=6).map(b"".join)).map(b"".join)


def _outcome(read: Callable[[], tuple]) -> tuple:
    """What a reader makes of some bytes: its answer, or its error's type (and what an IncompleteRead had read)."""
    try:
        return read()
    except (http.client.HTTPException, ValueError) as error:
        return type(error), getattr(error, "partial", None)


def _read_file(data: bytes) -> tuple:
    fp = io.BytesIO(data)
    return (*http1.read_answer(fp), fp.tell() < len(data))


@settings(max_examples=1000, deadline=None)
@given(data=st.lists(PIECES, max_size=30).map(b"".join) | ANSWERS | st.lists(ANSWERS, max_size=3).map(b"".join),
       receives=CUTS)
def test_any_bytes_in_any_receives_read_as_read_answer_reads_them_from_a_file(data, receives):
    # Status, headers, body and whether the connection closes; or the same error. A head read whole and one read
    # line by line agree.
    got, expected = _outcome(lambda: http1.read_received(_receives(data, receives))), _outcome(lambda: _read_file(data))
    assert got[:4] == expected[:4]
    # Bytes left after the answer (they close the connection) are told if they came with it; what comes later is
    # the idle connection's check's (connections.py), as it would be in one receive.
    if len(expected) == 5:
        assert got[4] <= expected[4]
        assert http1.read_received(_receives(data, []))[4] == expected[4]


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 200 " + b"r" * (http1.MAX_LINE - 15) + b"\r\n",  # the status line of MAX_LINE - 1 bytes, and more
    b"HTTP/1.1 200 " + b"r" * (http1.MAX_LINE - 14) + b"\r\n",
    b"HTTP/1.1 200 " + b"r" * (http1.MAX_LINE - 13) + b"\r\n",
    b"HTTP/1.1 200 OK\r\nX: " + b"v" * (http1.MAX_LINE - 6) + b"\r\n",  # a header line of MAX_LINE bytes, and more
    b"HTTP/1.1 200 OK\r\nX: " + b"v" * (http1.MAX_LINE - 5) + b"\r\n",
    b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * http1.MAX_HEADERS,  # as many header lines as taken, and more
    b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * (http1.MAX_HEADERS + 1),
    b"HTTP/1.1 200 OK\r\n" + (b"X: " + b"v" * 1000 + b"\r\n") * 90,  # a head longer than MAX_LINE, lines short
    b"HTTP/1.1 200 OK\r\n" + (b"X: " + b"v" * 1000 + b"\r\n") * 101,
])
@pytest.mark.parametrize("receives", [[], [17], list(range(0, 200_000, 4096))])
def test_a_head_near_the_bounds_reads_as_read_answer_reads_it(head, receives):
    data = head + b"Content-Length: 2\r\n\r\nok"
    assert _outcome(lambda: http1.read_received(_receives(data, receives))) == _outcome(lambda: _read_file(data))


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
@pytest.mark.parametrize("size", [BOUND, BOUND + 1])
def test_a_received_body_is_read_up_to_the_bound_and_refused_past_it(framing, size):
    head = {"length": f"Content-Length: {size}\r\n", "chunked": "Transfer-Encoding: chunked\r\n", "close": ""}[framing]
    body = b"x" * size
    if framing == "chunked":
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (size, body)
    data = OK + head.encode() + b"\r\n" + body
    receive = _receives(data, list(range(0, len(data), 8192)))
    if size > BOUND:
        with pytest.raises(http1.AnswerTooLarge):
            http1.read_received(receive)
    else:
        assert len(http1.read_received(receive)[2]) == size


ANSWER = OK + b"Content-Length: 2\r\n\r\nok"


@pytest.mark.parametrize("after", [b"H", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", b"\r\n"])
# The last receive brings the end of the answer and what follows.
@pytest.mark.parametrize("receives", [[], [17], list(range(len(ANSWER)))])
def test_bytes_received_with_the_answers_end_are_told(after, receives):
    assert http1.read_received(_receives(ANSWER + after, receives))[2:] == (b"ok", False, True)


def test_a_length_beyond_what_arrived_waits_for_no_more_than_arrives():
    # A peer's length allocates nothing: each receive brings what arrived, and the close ends the answer short.
    data = OK + b"Content-Length: 900000\r\n\r\nab"
    with pytest.raises(http.client.IncompleteRead) as error:
        http1.read_received(_receives(data, []))
    assert error.value.partial == b"ab"
