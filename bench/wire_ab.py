"""The wire path's request (`WirePutEvents`: body, headers, SigV4, `ConnectionPool.post`, the answer) of a git
revision against the working tree's, interleaved in one process: CPU per request in the pool's threads.

    .venv/bin/python -m bench.wire_ab REV [--tls] [--threads 16] [--requests 2000] [--rounds 9] [--latency-ms 0]

REV's `src/forwarder/net/` is copied into a package of its own (its imports of `forwarder.net` pointed at it), so
both run side by side on one botocore client, against the fault endpoint (plain HTTP) or, with --tls, a TLS
server on 127.0.0.1 with a certificate made for the run, trusted through AWS_CA_BUNDLE (Lambda talks TLS).
Rounds alternate the order; medians. For a change to net/: the machine's noise moves whole runs by up to 1.5x,
the two in one run much less.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.runner import BENCH_ENV
from forwarder_testing.endpoint_process import EndpointProcess

ENTRIES = [{"Source": "bench.forwarder", "DetailType": "OrderPlaced", "Detail": '{"a":"' + "x" * 450 + '"}',
            "EventBusName": "default", "Time": 1764800000.123}] * 10
ANSWER = ('{"FailedEntryCount": 0, "Entries": [%s]}' % ", ".join(  # noqa: UP031
    ['{"EventId": "00000000-0000-4000-8000-00000000000b"}'] * 10)).encode()


def net_at(revision: str, into: Path) -> str:
    """`src/forwarder/net/` at `revision` as the package `net_at_rev` under `into`; its name."""
    package = into / "net_at_rev"
    package.mkdir()
    git = shutil.which("git") or "git"
    names = subprocess.run([git, "ls-tree", "--name-only", f"{revision}:src/forwarder/net/"],
                           check=True, capture_output=True, text=True).stdout.split()
    for name in (n for n in names if n.endswith(".py")):
        text = subprocess.run([git, "show", f"{revision}:src/forwarder/net/{name}"],
                              check=True, capture_output=True, text=True).stdout
        (package / name).write_text(re.sub(r"\bforwarder\.net\b", "net_at_rev", text))
    return "net_at_rev"


class _Answers(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_tls(cert: str, key: str) -> None:
    """The TLS server's process: its port on the first line of stdout, then PutEvents' answer to every POST."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def _certificate(directory: Path) -> tuple[str, str]:
    from cryptography import x509  # the test dependencies': only this benchmark needs it
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


@contextmanager
def endpoint(tls: bool, latency_ms: float, directory: Path) -> Iterator[None]:
    """AWS_ENDPOINT_URL (and AWS_CA_BUNDLE with TLS) set to a peer that answers every PutEvents."""
    if not tls:
        with EndpointProcess({"record_accepted": False}, latency_ms=latency_ms) as process:
            os.environ["AWS_ENDPOINT_URL"] = process.url
            yield
        return
    cert, key = _certificate(directory)
    code = f"from bench.wire_ab import serve_tls; serve_tls({cert!r}, {key!r})"
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline()) if server.stdout else 0
        os.environ["AWS_ENDPOINT_URL"], os.environ["AWS_CA_BUNDLE"] = f"https://127.0.0.1:{port}", cert
        yield
    finally:
        server.terminate()
        server.wait(10)


def cpu_per_request(send: Any, pool: ThreadPoolExecutor, requests: int) -> float:
    spent: list[float] = []
    lock = threading.Lock()

    def one(_: int) -> None:
        started = time.thread_time()
        send(ENTRIES, time.monotonic() + 60)
        with lock:
            spent.append(time.thread_time() - started)

    list(pool.map(one, range(requests)))
    return sum(spent) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revision")
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    os.environ.update(BENCH_ENV)
    with tempfile.TemporaryDirectory() as directory, endpoint(args.tls, args.latency_ms, Path(directory)):
        sys.path.insert(0, directory)
        import botocore.session

        from forwarder.net import wire
        from forwarder.net.clients import create_client

        before = __import__(f"{net_at(args.revision, Path(directory))}.wire", fromlist=["wire"])
        session = botocore.session.get_session()
        client = create_client("events", 2, session=session)
        sends = {args.revision: before.WirePutEvents(session, client),
                 "working tree": wire.WirePutEvents(session, client)}
        pool = ThreadPoolExecutor(args.threads)
        for send in sends.values():
            cpu_per_request(send, pool, args.requests)  # connections made, code warm
        spent: dict[str, list[float]] = {name: [] for name in sends}
        for round_ in range(args.rounds):
            for name in list(sends)[:: 1 if round_ % 2 else -1]:
                spent[name].append(cpu_per_request(sends[name], pool, args.requests))
        medians = {name: statistics.median(values) for name, values in spent.items()}
        first, second = medians.values()
        print(f"{'TLS' if args.tls else 'plain HTTP'}, {args.threads} threads, {args.latency_ms:g} ms, "
              f"{args.requests} requests x {args.rounds} rounds: CPU per request in the pool's threads (us) "
              + ", ".join(f"{name} {value:.1f}" for name, value in medians.items()) + f": {second / first:.3f}x")


if __name__ == "__main__":
    main()
