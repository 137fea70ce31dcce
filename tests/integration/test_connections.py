"""forwarder.net.connections over real sockets on 127.0.0.1: keep-alive reuse, servers that close, and botocore's
errors."""

from __future__ import annotations

import datetime
import io
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import botocore.session
import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.exceptions import SSLError as BotocoreSSLError
from botocore.httpsession import get_cert_path
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from forwarder.net.clients import create_client
from forwarder.net.connections import RECEIVE_BYTES, ConnectionPool
from forwarder.net.wire import WirePutEvents
from forwarder_testing import raw_server

ANSWER = b'{"FailedEntryCount":0,"Entries":[]}'


class Server(ThreadingHTTPServer):
    """An HTTP/1.1 server that counts the connections it accepts and closes, and answers as `mode` says:

    keep: 200 and keep the connection; silent_close: 200, then close without saying so; connection_close:
    200 with `Connection: close`; hang: never answer; drop: close after reading the request, no answer.
    """

    daemon_threads = True
    request_queue_size = 64  # 16 threads connect at once: a full backlog would drop connections the client sees open

    def __init__(self, tls: ssl.SSLContext | None = None):
        super().__init__(("127.0.0.1", 0), Handler)
        self.tls, self.mode = tls, "keep"
        self.accepted = self.closed = 0
        self.changed = threading.Condition()
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.stop = threading.Event()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.server_address[1]}/"

    def get_request(self) -> tuple[socket.socket, object]:
        sock, address = super().get_request()
        with self.changed:
            self.accepted += 1
            self.changed.notify_all()
        if self.tls:  # the handshake happens in the handler's thread, so one bad client cannot stall the rest
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def shutdown_request(self, request: socket.socket) -> None:
        super().shutdown_request(request)
        with self.changed:
            self.closed += 1
            self.changed.notify_all()

    def wait_until(self, condition, timeout: float = 5.0) -> None:
        with self.changed:
            assert self.changed.wait_for(condition, timeout)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the handler says otherwise
    server: Server

    def handle(self) -> None:
        if self.server.tls:
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError):
                return  # a client that does not trust the certificate hangs up
        super().handle()

    def do_POST(self) -> None:
        server = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server.requests.append((self.path, dict(self.headers), body))
        if server.mode == "hang":
            server.stop.wait(10)
            self.close_connection = True
            return
        if server.mode == "drop":
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("X-Amzn-RequestId", "request-1")
        self.send_header("Content-Length", str(len(ANSWER)))
        if server.mode == "connection_close":
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(ANSWER)
        self.wfile.flush()
        if server.mode == "silent_close":
            self.close_connection = True
        elif server.mode == "connection_close":
            # Linger until the client opens its next connection (or 2 s): a client that wrote its next request
            # into this connection regardless would never be answered, instead of only racing our close.
            accepted = server.accepted
            with server.changed:
                server.changed.wait_for(lambda: server.accepted > accepted, 2)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serving(tls: ssl.SSLContext | None = None) -> Iterator[Server]:
    server = Server(tls)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()


@contextmanager
def pool_for(url: str, connect_timeout: float = 2, read_timeout: float = 2, ca_bundle: str | None = None
             ) -> Iterator[ConnectionPool]:
    with closing(ConnectionPool(url, connect_timeout, read_timeout, ca_bundle)) as pool:
        yield pool


def post(pool: ConnectionPool, body: bytes = b'{"Entries":[]}') -> tuple[int, dict[str, str], bytes]:
    return pool.post(body, {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSEvents.PutEvents"})


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for IP 127.0.0.1 (SAN IP, as hostname checking needs) and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture
def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture(params=["http", "https"])
def scheme_server(request: pytest.FixtureRequest, certificate: tuple[Path, Path]
                  ) -> Iterator[tuple[Server, str | None]]:
    """A server over plain HTTP or TLS, with the CA bundle that trusts it."""
    if request.param == "http":
        with serving() as server:
            yield server, None
    else:
        with serving(request.getfixturevalue("server_tls")) as server:
            yield server, str(certificate[0])


def test_the_body_goes_to_the_urls_path_with_the_headers_given():
    with serving() as server, pool_for(server.url + "prefix/") as pool:
        status, headers, body = post(pool, b'{"Entries":[{"Detail":"caf\xc3\xa9"}]}')
    assert (status, body) == (200, ANSWER)
    path, sent, received = server.requests[0]
    assert (path, received) == ("/prefix/", b'{"Entries":[{"Detail":"caf\xc3\xa9"}]}')
    assert sent["X-Amz-Target"] == "AWSEvents.PutEvents"
    assert sent["Content-Length"] == str(len(received))


def test_answer_headers_have_lower_case_names():
    with serving() as server, pool_for(server.url) as pool:
        _, headers, _ = post(pool)
    assert headers["x-amzn-requestid"] == "request-1"
    assert headers["content-type"] == "application/x-amz-json-1.1"
    assert all(name == name.lower() for name in headers)


@pytest.mark.parametrize("how", ["post", "request"])
def test_posts_reuse_one_keep_alive_connection(scheme_server, how):
    server, ca_bundle = scheme_server
    with pool_for(server.url, ca_bundle=ca_bundle) as pool:
        send = (lambda: post(pool)) if how == "post" else (
            lambda: pool.request("POST", "/", b"{}", {}, deadline=time.monotonic() + 5))
        answers = [send()[0] for _ in range(3)]
    assert answers == [200, 200, 200]
    assert server.accepted == 1


@pytest.mark.parametrize("size", [1, 3_000_000])
def test_a_body_of_any_size_arrives_whole(scheme_server, size):
    # Over TLS a write that fills the socket's buffer is retried with the same bytes (SSLWantWriteError).
    server, ca_bundle = scheme_server
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    with pool_for(server.url, ca_bundle=ca_bundle) as pool:
        assert post(pool, body)[0] == 200
        assert post(pool)[0] == 200
    assert server.requests[0][2] == body
    assert server.accepted == 1


def test_a_connection_the_server_closed_silently_while_idle_is_not_used(scheme_server):
    server, ca_bundle = scheme_server
    server.mode = "silent_close"
    with pool_for(server.url, ca_bundle=ca_bundle) as pool:
        assert post(pool)[0] == 200
        # Wait for the server's close, so the idle connection is surely closed (not racing it) when we post.
        server.wait_until(lambda: server.closed == 1)
        server.mode = "keep"
        assert post(pool)[0] == 200
    assert server.accepted == 2
    assert len(server.requests) == 2  # the second request was not written into the dead connection and lost


def test_after_connection_close_the_next_post_opens_a_new_connection():
    with serving() as server, pool_for(server.url) as pool:
        server.mode = "connection_close"
        _, headers, _ = post(pool)
        assert headers["connection"] == "close"
        started = time.monotonic()
        assert post(pool)[0] == 200
        assert time.monotonic() - started < 1  # it did not wait on the old connection
    assert server.accepted == 2


def test_nobody_listening_is_an_endpoint_connection_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pool_for(f"http://127.0.0.1:{port}/") as pool, pytest.raises(EndpointConnectionError) as raised:
        post(pool)
    assert isinstance(raised.value.kwargs["error"], ConnectionRefusedError)


def test_no_answer_within_the_read_timeout_is_a_read_timeout_error():
    with serving() as server, pool_for(server.url, read_timeout=0.3) as pool:
        server.mode = "hang"
        started = time.monotonic()
        with pytest.raises(ReadTimeoutError):
            post(pool)
        assert 0.25 < time.monotonic() - started < 2
        server.mode = "keep"
        assert post(pool)[0] == 200  # on a new connection: the one that timed out may still get its answer
        assert server.accepted == 2


def test_a_close_without_an_answer_is_a_connection_closed_error():
    with serving() as server, pool_for(server.url) as pool:
        server.mode = "drop"
        with pytest.raises(ConnectionClosedError):
            post(pool)
        assert server.requests  # the request was written: it may have landed, unlike a connect error
        server.mode = "keep"
        assert post(pool)[0] == 200


def test_a_tls_handshake_that_stalls_is_a_connect_timeout(certificate):
    # The kernel completes the TCP handshake for a listening socket nobody accepts from; TLS never answers.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"https://127.0.0.1:{listener.getsockname()[1]}/"
        with pool_for(url, connect_timeout=0.3, ca_bundle=str(certificate[0])) as pool:
            started = time.monotonic()
            with pytest.raises(ConnectTimeoutError):
                post(pool)
            assert time.monotonic() - started < 2


def test_tls_is_verified_against_the_ca_bundle_given(server_tls, certificate):
    with serving(server_tls) as server:
        with pool_for(server.url, ca_bundle=str(certificate[0])) as pool:
            assert post(pool)[0] == 200
        with pool_for(server.url, ca_bundle=get_cert_path(True)) as pool, \
                pytest.raises(BotocoreSSLError) as raised:
            post(pool)
    assert isinstance(raised.value.kwargs["error"], ssl.SSLCertVerificationError)
    assert len(server.requests) == 1  # nothing was sent to the server it could not verify


def test_pools_share_one_tls_context_per_ca_bundle_and_each_still_verifies(server_tls, certificate):
    # A cold start made one per pool (about 15 ms each: the wire path's, then each client's per host).
    with serving(server_tls) as server, pool_for(server.url, ca_bundle=str(certificate[0])) as first, \
                pool_for(server.url, ca_bundle=str(certificate[0])) as second, \
                pool_for(server.url, ca_bundle=get_cert_path(True)) as other:
        assert first._tls is second._tls is not other._tls
        assert post(first)[0] == 200 and post(second)[0] == 200
        with pytest.raises(BotocoreSSLError):
            post(other)


def test_many_threads_share_the_pool_without_losing_a_request():
    # The handler's 16 pool threads check connections in and out at once: every post is answered, and
    # no more connections are opened than posts were ever in flight together.
    with serving() as server, pool_for(server.url) as pool, ThreadPoolExecutor(max_workers=16) as threads:
        answers = list(threads.map(lambda _: post(pool)[0], range(400)))
    assert answers == [200] * 400
    assert server.accepted <= 16


# -- deadlines: every exchange ends by its deadline, whatever the peer does ---------------------------


class RawServer(raw_server.RawServer):
    """A TCP server (over TLS with `tls`) that reads each request (headers and Content-Length body) and answers it
    with `answer`: bytes sent in one write, in writes of the sizes `pieces` says (over TLS a record each), or one
    byte every `trickle` seconds. Counts the connections still open."""

    def __init__(self, answer: bytes, trickle: float | None = None, tls: ssl.SSLContext | None = None,
                 pieces: list[int] | None = None):
        self.answer, self.trickle, self.tls, self.pieces = answer, trickle, tls, pieces
        self.open = 0
        self.requests: list[bytes] = []
        self.lock = threading.Condition()
        self.stop = threading.Event()
        super().__init__()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}{super().url[4:]}/"

    def serve(self, sock: socket.socket) -> None:
        with self.lock:
            self.open += 1
        try:
            if self.tls:
                sock = self.tls.wrap_socket(sock, server_side=True)
            reader = sock.makefile("rb")
            while (line := reader.readline()) and not self.stop.is_set():
                length = 0
                while (header := reader.readline()) not in (b"\r\n", b""):
                    if header.lower().startswith(b"content-length:"):
                        length = int(header.split(b":")[1])
                self.requests.append(line + reader.read(length))
                if self.pieces is not None:
                    self._in_pieces(sock)
                    continue
                if self.trickle is None:
                    sock.sendall(self.answer)
                    continue
                for position in range(len(self.answer)):
                    if self.stop.wait(self.trickle):
                        return
                    sock.sendall(self.answer[position:position + 1])
        except OSError:
            pass  # the client hung up
        finally:
            sock.close()
            with self.lock:
                self.open -= 1
                self.lock.notify_all()

    def _in_pieces(self, sock: socket.socket) -> None:
        start = 0
        for size in [*self.pieces, len(self.answer)]:
            if start < len(self.answer):
                sock.sendall(self.answer[start:start + size])
                start += size
                time.sleep(0.001)  # each its own segment, and mostly its own receive

    def wait_until_closed(self, timeout: float = 5.0) -> bool:
        with self.lock:
            return self.lock.wait_for(lambda: self.open == 0, timeout)

    def close(self) -> None:
        self.stop.set()
        super().close()


@contextmanager
def raw_serving(answer: bytes, trickle: float | None = None, tls: ssl.SSLContext | None = None,
                pieces: list[int] | None = None) -> Iterator[RawServer]:
    server = RawServer(answer, trickle, tls, pieces)
    try:
        yield server
    finally:
        server.close()


def http_answer(status: str = "200 OK", body: bytes = ANSWER, extra: bytes = b"") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {len(body)}\r\n"
            .encode() + extra + b"\r\n" + body)


@pytest.fixture(params=["http", "https"])
def scheme(request: pytest.FixtureRequest, certificate: tuple[Path, Path]) -> tuple[ssl.SSLContext | None, str | None]:
    """A raw server's TLS context (None: plain HTTP), and the CA bundle that trusts it."""
    if request.param == "http":
        return None, None
    return request.getfixturevalue("server_tls"), str(certificate[0])


@pytest.mark.parametrize("how", ["post", "request"])
def test_an_answer_that_trickles_ends_at_the_deadline_and_its_socket_is_closed(scheme, how):
    # One byte every 50 ms (over TLS a record each) never trips the 2 s read timeout, which is per receive; the
    # deadline bounds it all.
    tls, ca_bundle = scheme
    with raw_serving(http_answer(), trickle=0.05, tls=tls) as server, pool_for(server.url, ca_bundle=ca_bundle) as pool:
        started = time.monotonic()
        with pytest.raises(ReadTimeoutError):
            if how == "post":
                pool.post(b"{}", {}, deadline=started + 0.5)
            else:
                pool.request("POST", "/", b"{}", {}, deadline=started + 0.5)
        assert 0.45 < time.monotonic() - started < 1.0
        assert server.wait_until_closed()  # the connection was closed, not left to the peer


@pytest.mark.parametrize("pieces", [[1] * 40, [16, 1, 40, 3], [60, 600], [len(http_answer()) - 1]])
def test_an_answer_in_pieces_is_read_whole_and_its_connection_kept(scheme, pieces):
    # Over TLS each piece is a record of its own: a receive may bring part of a line, or the head without the body.
    tls, ca_bundle = scheme
    with raw_serving(http_answer(), tls=tls, pieces=pieces) as server, \
            pool_for(server.url, ca_bundle=ca_bundle) as pool:
        answers = [pool.post(b"{}", {}, deadline=time.monotonic() + 5) for _ in range(2)]
        assert [(status, body) for status, _, body in answers] == [(200, ANSWER)] * 2
        assert len(server.requests) == 2 and server.open == 1  # one connection carried both


@pytest.mark.parametrize("how", ["post", "request"])
@pytest.mark.parametrize("size", [12_000, 100_000])
def test_an_answer_larger_than_a_receive_is_read_whole(scheme, how, size):
    # Over TLS a record holds up to 16 KiB: what one receive (8 KiB) leaves of it waits decrypted, where poll cannot
    # see it; with 12,000 bytes nothing more comes to wake a poll.
    tls, ca_bundle = scheme
    body = b"[" + b"0," * (size // 2 - 1) + b"0]"
    with raw_serving(http_answer(body=body), tls=tls) as server, pool_for(server.url, ca_bundle=ca_bundle) as pool:
        for _ in range(2):
            answer = pool.post(b"{}", {}, deadline=time.monotonic() + 5) if how == "post" else \
                pool.request("POST", "/", b"{}", {}, deadline=time.monotonic() + 5)
            assert answer[::2] == (200, body)
        assert server.open == 1


def test_a_tls_peer_that_stops_reading_the_request_is_cut_at_the_deadline(server_tls, certificate):
    # The handshake done, the peer reads nothing: sending the rest of a 32 MB body waits on a full socket buffer.
    stop = threading.Event()

    class Deaf(raw_server.RawServer):
        def serve(self, sock: socket.socket) -> None:
            with server_tls.wrap_socket(sock, server_side=True):
                stop.wait(10)

    peer = Deaf()
    try:
        with pool_for(f"https{peer.url[4:]}/", read_timeout=30, ca_bundle=str(certificate[0])) as pool:
            started = time.monotonic()
            with pytest.raises(ReadTimeoutError):
                pool.post(b"x" * 32_000_000, {}, deadline=started + 0.5)
            assert time.monotonic() - started < 1.5
    finally:
        stop.set()
        peer.close()


def test_closing_the_pool_closes_the_socket_its_answers_were_read_from():
    # The wire path keeps one reader per connection (a makefile, which holds the descriptor open by itself).
    with raw_serving(http_answer()) as server, pool_for(server.url) as pool:
        assert pool.post(b"{}", {})[0] == 200
        assert pool.post(b"{}", {})[0] == 200  # the same connection, read by the same reader
        assert len(server.requests) == 2
        pool.close()
        assert server.wait_until_closed()


def test_a_hang_ends_at_the_deadline_before_the_read_timeout():
    with serving() as server, pool_for(server.url, read_timeout=30) as pool:
        server.mode = "hang"
        started = time.monotonic()
        with pytest.raises(ReadTimeoutError):
            pool.post(b"{}", {}, deadline=started + 0.3)
        assert time.monotonic() - started < 1.0


def test_a_request_whose_deadline_passed_is_not_started():
    with serving() as server, pool_for(server.url) as pool:
        assert post(pool)[0] == 200  # an idle connection is ready
        with pytest.raises(ConnectTimeoutError):
            pool.post(b"{}", {}, deadline=time.monotonic())
    assert len(server.requests) == 1


def test_connecting_waits_no_longer_than_the_time_left(certificate):
    # A listener nobody accepts from: TCP connects, the TLS handshake never answers (connect timeout 30 s).
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"https://127.0.0.1:{listener.getsockname()[1]}/"
        with pool_for(url, connect_timeout=30, ca_bundle=str(certificate[0])) as pool:
            started = time.monotonic()
            with pytest.raises(ConnectTimeoutError):
                pool.post(b"{}", {}, deadline=started + 0.3)
            assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("interim", [
    b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\n",
    b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
])
def test_interim_answers_are_skipped_for_the_final_one(interim):
    with raw_serving(interim + http_answer(extra=b"X-Amzn-RequestId: final\r\n")) as server, \
            pool_for(server.url) as pool:
        answers = [pool.post(b"{}", {}) for _ in range(2)]  # the second on the same connection: nothing left over
    assert [(status, headers["x-amzn-requestid"], body) for status, headers, body in answers] == [
        (200, "final", ANSWER)] * 2
    assert all("link" not in headers for _, headers, _ in answers)


def test_a_repeated_header_is_joined_as_botocores_session_joins_it():
    with raw_serving(http_answer(extra=b"X-Thing: a\r\nx-thing: b\r\n")) as server, pool_for(server.url) as pool:
        _, headers, _ = pool.post(b"{}", {})
    assert headers["x-thing"] == "a, b"


def test_without_timeouts_or_deadline_a_post_waits_as_botocore_would():
    with serving() as server, pool_for(server.url, connect_timeout=None, read_timeout=None) as pool:
        assert post(pool)[0] == 200


def test_a_peer_that_stops_reading_the_request_is_cut_at_the_deadline():
    # The kernel completes the TCP handshake for a listener nobody accepts from; once the socket buffers are
    # full, sending the rest of a 32 MB body blocks (each send's timeout would be the read timeout).
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        with pool_for(f"http://127.0.0.1:{listener.getsockname()[1]}/", read_timeout=30) as pool:
            started = time.monotonic()
            with pytest.raises(ReadTimeoutError):
                pool.post(b"x" * 32_000_000, {}, deadline=started + 0.3)
            assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("extra", [b"Content-Length: 5\r\n", b"Content-Length: 1_0\r\n",
                                   b"X-Folded: a\r\n" + b" b\r\n" * 150])
def test_an_answer_framed_in_doubt_is_a_connection_closed_error_and_its_connection_is_closed(extra):
    # Differing lengths (RFC 9112, 6.3) or endless folded lines: where the next answer starts is unknown.
    with raw_serving(http_answer(extra=extra)) as server, pool_for(server.url) as pool:
        with pytest.raises(ConnectionClosedError):
            pool.post(b"{}", {})
        assert server.wait_until_closed()


def test_a_close_in_any_connection_header_closes_the_connection():
    with raw_serving(http_answer(extra=b"Connection: close\r\nConnection: keep-alive\r\n")) as server, \
            pool_for(server.url) as pool:
        assert pool.post(b"{}", {})[0] == 200
        assert server.wait_until_closed()  # not kept for the next request
        assert pool.post(b"{}", {})[0] == 200


@pytest.mark.parametrize("how", ["post", "request"])
@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999\r\n\r\nab",
    # An answer that says it closes: http.client lets go of the connection's socket, and reads the body after.
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 10\r\n\r\nab",
], ids=["too long", "closing"])
def test_whatever_reading_an_answer_raises_its_connection_is_closed(how, answer):
    # A length no answer has, refused unread (http1.MAX_ANSWER_BYTES), or a body that stops coming: the connection
    # is closed, not left to the traceback, which the publisher keeps with the failed request's outcome.
    with raw_serving(answer) as server, pool_for(server.url) as pool:
        with pytest.raises((ConnectionClosedError, ResponseStreamingError, ReadTimeoutError)) as raised:
            if how == "post":
                pool.post(b"{}", {}, deadline=time.monotonic() + 0.5)
            else:
                pool.request("POST", "/", b"{}", {}, deadline=time.monotonic() + 0.5)
        assert server.wait_until_closed(), raised.value


# -- an answer nobody asked for is never taken for the next request's -------------------------------------


def event_ids_answer(*ids: str) -> bytes:
    return http_answer(body=json.dumps({"FailedEntryCount": 0, "Entries": [{"EventId": i} for i in ids]}).encode())


class Unsolicited(raw_server.RawServer):
    """Answers request n with EventId "real-n"; right after the first answer, in the same write, sends `extra`
    bytes of padding and then an answer nobody asked for (EventId "forged"). Over TLS one write is one record:
    with the padding sized so that the client's first receive ends where the forged answer starts, the forged
    answer waits decrypted in the client's TLS layer, where select and poll cannot see it."""

    def __init__(self, tls: ssl.SSLContext | None, extra: int):
        self.tls, self.extra, self.answered = tls, extra, 0
        super().__init__()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}{super().url[4:]}/"

    def serve(self, sock: socket.socket) -> None:
        try:
            if self.tls:
                sock = self.tls.wrap_socket(sock, server_side=True)
            with sock, sock.makefile("rb") as reader:
                while raw_server.read_request(reader):
                    self.answered += 1
                    answer = event_ids_answer(f"real-{self.answered}")
                    if self.answered == 1:
                        answer += b"\n" * (self.extra - len(answer)) + event_ids_answer("forged")
                    sock.sendall(answer)
        except OSError:
            pass  # the client hung up


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("how", ["post", "request"])
def test_an_answer_nobody_asked_for_is_not_taken_for_the_next_requests(server_tls, certificate, scheme, how):
    tls = server_tls if scheme == "https" else None
    peer = Unsolicited(tls, extra=RECEIVE_BYTES if how == "post" else io.DEFAULT_BUFFER_SIZE)
    try:
        with pool_for(peer.url, ca_bundle=str(certificate[0])) as pool:
            send = (lambda: pool.post(b"{}", {})) if how == "post" else (
                lambda: pool.request("POST", "/", b"{}", {}, deadline=time.monotonic() + 5))
            bodies = [json.loads(send()[2]) for _ in range(3)]
    finally:
        peer.close()
    # Each request its own answer (the peer counts requests over all connections); the forged one is never read.
    assert [body["Entries"][0]["EventId"] for body in bodies] == ["real-1", "real-2", "real-3"]


class Straddling(raw_server.RawServer):
    """Answers request n with EventId "real-n"; the first answer is followed, in the same write, by the head of an
    answer nobody asked for, whose body comes only before the answer to the next request on that connection. A
    client that dropped the head and reused the connection would read that body as its next answer's start."""

    FORGED = event_ids_answer("forged")

    def __init__(self, tls: ssl.SSLContext | None):
        self.tls, self.answered = tls, 0
        super().__init__()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}{super().url[4:]}/"

    def serve(self, sock: socket.socket) -> None:
        split = self.FORGED.index(b"\r\n\r\n") + 4
        try:
            if self.tls:
                sock = self.tls.wrap_socket(sock, server_side=True)
            with sock, sock.makefile("rb") as reader:
                first = True
                while raw_server.read_request(reader):
                    self.answered += 1
                    answer = event_ids_answer(f"real-{self.answered}")
                    sock.sendall(answer + self.FORGED[:split] if self.answered == 1 else
                                 (b"" if first else self.FORGED[split:]) + answer)
                    first = False
        except OSError:
            pass  # the client hung up


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("how", ["post", "request"])
def test_the_start_of_an_answer_nobody_asked_for_closes_the_connection(server_tls, certificate, scheme, how):
    peer = Straddling(server_tls if scheme == "https" else None)
    try:
        with pool_for(peer.url, ca_bundle=str(certificate[0])) as pool:
            send = (lambda: pool.post(b"{}", {})) if how == "post" else (
                lambda: pool.request("POST", "/", b"{}", {}, deadline=time.monotonic() + 5))
            bodies = [json.loads(send()[2]) for _ in range(2)]
    finally:
        peer.close()
    assert [body["Entries"][0]["EventId"] for body in bodies] == ["real-1", "real-2"]


def test_through_the_wire_path_each_put_events_gets_its_own_event_ids(monkeypatch, server_tls, certificate):
    peer = Unsolicited(server_tls, extra=8192)
    monkeypatch.setenv("AWS_ENDPOINT_URL", peer.url)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(certificate[0]))
    try:
        session = botocore.session.get_session()
        send = WirePutEvents(session, create_client("events", 2, session=session))
        entries = [{"Source": "s", "DetailType": "t", "Detail": "{}"}]
        ids = [send(entries, time.monotonic() + 5)["Entries"][0]["EventId"] for _ in range(2)]
    finally:
        peer.close()
    assert ids == ["real-1", "real-2"]
