"""BENCHMARKS.md's "The physical limit" section: the work no implementation can skip, each primitive timed
alone in this process, beside the forwarder onto a classic bus and onto a Custom Event Bus, interleaved.

Per 10-entry request (divided by 10 for a record's share) and per record, stdlib only:

- record read: a raw SQS record's body, message id and SentTimestamp (as an int);
- JSON encode: one compact UTF-8 PutEvents body of 10 entries (Source, DetailType, Detail, EventBusName,
  Time as epoch seconds), as the wire path sends it;
- SHA-256 + SigV4: the body's hash and the four HMACs of a signature (the signing key derived each time);
- socket: one request written and one answer read on a keep-alive TCP connection on 127.0.0.1 (the answer
  already waiting, so no wake-up is counted; the peer's work is not timed);
- answer parse: json.loads of PutEvents' answer for 10 entries.

The limit is their sum per record; the forwarder's CPU per record (the handler as Lambda calls it, 0 ms)
is reported as a multiple of it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench.workload import sqs_event

CUSTOM_BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/bench/abcdefghijklmnopqrstuvwxy"  # eventbridgev2
PRIMITIVES = ("record read", "JSON encode", "SHA-256 + SigV4", "socket send/receive", "answer parse")
ENTRIES_PER_REQUEST = 10


def _requests(event: dict) -> list[list[dict]]:
    entries = [{"Source": "bench.forwarder", "DetailType": "OrderPlaced", "Detail": r["body"],
                "EventBusName": "default", "Time": int(r["attributes"]["SentTimestamp"]) / 1000}
               for r in event["Records"]]
    return [entries[i:i + ENTRIES_PER_REQUEST] for i in range(0, len(entries), ENTRIES_PER_REQUEST)]


def _answer() -> bytes:
    entries = [{"EventId": str(uuid.UUID(int=i))} for i in range(ENTRIES_PER_REQUEST)]
    return json.dumps({"Entries": entries, "FailedEntryCount": 0}).encode()


def record_read(records: list[dict]) -> float:
    started = time.process_time()
    for record in records:
        record["body"], record["messageId"], int(record["attributes"]["SentTimestamp"])  # noqa: B018
    return time.process_time() - started


def json_encode(requests: list[list[dict]]) -> float:
    started = time.process_time()
    for entries in requests:
        json.dumps({"Entries": entries}, separators=(",", ":"), ensure_ascii=False).encode()
    return time.process_time() - started


def sign(bodies: list[bytes]) -> float:
    secret = b"AWS4" + b"bench-secret"
    started = time.process_time()
    for body in bodies:
        payload = hashlib.sha256(body).hexdigest()
        key = secret
        for part in (b"20261203", b"us-east-1", b"events", b"aws4_request"):
            key = hmac.new(key, part, hashlib.sha256).digest()
        hmac.new(key, b"AWS4-HMAC-SHA256\n20261203T000000Z\n" + payload.encode(), hashlib.sha256).hexdigest()
    return time.process_time() - started


def socket_round_trips(bodies: list[bytes], answer: bytes) -> float:
    """The client's send and receive only, timed call by call (the answer is already in the socket)."""
    head = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Header: value\r\n" * 8
    response = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: %d\r\n\r\n" % len(
        answer) + answer
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        peer, _ = server.accept()
        with client, peer:
            for sock in (client, peer):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            spent = 0
            for body in bodies:
                request = head + b"Content-Length: %d\r\n\r\n" % len(body) + body
                peer.sendall(response)
                started = time.perf_counter_ns()
                client.sendall(request)
                got = client.recv(65536)
                spent += time.perf_counter_ns() - started
                _drain(peer, len(request))
                if len(got) < len(response):
                    _drain(client, len(response) - len(got))
    return spent / 1e9


def _drain(sock: socket.socket, size: int) -> None:
    while size > 0:
        size -= len(sock.recv(size))


def answer_parse(answers: list[bytes]) -> float:
    started = time.process_time()
    for answer in answers:
        json.loads(answer)
    return time.process_time() - started


def primitives(event: dict) -> dict[str, float]:
    """CPU seconds of each primitive for the whole batch."""
    requests = _requests(event)
    bodies = [json.dumps({"Entries": e}, separators=(",", ":"), ensure_ascii=False).encode() for e in requests]
    answer = _answer()
    return {
        "record read": record_read(event["Records"]),
        "JSON encode": json_encode(requests),
        "SHA-256 + SigV4": sign(bodies),
        "socket send/receive": socket_round_trips(bodies, answer),
        "answer parse": answer_parse([answer] * len(requests)),
    }


def run(records: int, reps: int, log: Callable[[str], None]) -> dict[str, Any]:
    """The primitives and the forwarder (classic bus, Custom Event Bus), interleaved rep by rep, 0 ms."""
    from bench.contenders import Forwarder
    from bench.runner import measure
    from forwarder import handler

    event = sqs_event(records)
    forwarders = {"classic": Forwarder(),
                  "custom": Forwarder(handler.cold_start({**os.environ, "EVENT_BUS_NAME": CUSTOM_BUS}))}
    warm = sqs_event(200)
    for contender in forwarders.values():
        measure(contender, warm, 200)
    samples: dict[str, list[float]] = {name: [] for name in (*PRIMITIVES, *forwarders)}
    for _ in range(reps):
        for name, seconds in primitives(event).items():
            samples[name].append(seconds)
        for name, contender in forwarders.items():
            samples[name].append(measure(contender, event, records)["cpu"])
    result = {"records": records, "reps": reps, "cpu_s": samples}
    log("limit: " + ", ".join(f"{k} {statistics.median(v) * 1e6 / records:.2f}" for k, v in samples.items()))
    return result


def per_record(limit: dict) -> dict[str, float]:
    """Median microseconds per record of every primitive and forwarder, and `limit`, the primitives' sum."""
    us = {k: statistics.median(v) * 1e6 / limit["records"] for k, v in limit["cpu_s"].items()}
    us["limit"] = sum(us[k] for k in PRIMITIVES)
    return us


def section(results: dict) -> list[str]:
    limit = results.get("limit")
    if not limit:
        return []
    us = per_record(limit)
    out = ["## The physical limit", "",
           f"The work no implementation can skip, each primitive timed alone in this process (stdlib only), per "
           f"record, beside the forwarder; {limit['records']:,} records, 0 ms, medians of {limit['reps']} "
           "interleaved runs (`bench/limit.py` says what each primitive does; a request's share is divided by its "
           "10 entries).", "",
           "| work | CPU us/record | multiple of the limit |", "| --- | ---: | ---: |"]
    out += [f"| {name} | {us[name]:.2f} | |" for name in PRIMITIVES]
    out.append(f"| **the limit (their sum)** | **{us['limit']:.2f}** | 1.0x |")
    out.append(f"| forwarder, classic bus (PutEvents JSON, the wire path) | {us['classic']:.1f} | "
               f"{us['classic'] / us['limit']:.1f}x |")
    out.append(f"| forwarder, Custom Event Bus (botocore's rpc-v2-cbor client) | {us['custom']:.1f} | "
               f"{us['custom'] / us['limit']:.1f}x |")
    out.append("")
    return out


def targets(results: dict) -> list[tuple[str, str, str, bool]]:
    limit = results.get("limit")
    if not limit:
        return []
    us = per_record(limit)
    ratio, custom = us["classic"] / us["limit"], us["custom"] / us["classic"]
    return [
        (f"CPU per record, 0 ms, {limit['records']:,} records, classic bus, vs the limit's primitives", "<= 3x",
         f"{ratio:.1f}x ({us['classic']:.1f} vs {us['limit']:.2f} us)", ratio <= 3),
        ("CPU per record, Custom Event Bus, vs classic bus", "<= 2x",
         f"{custom:.2f}x ({us['custom']:.1f} vs {us['classic']:.1f} us; {us['custom'] / us['limit']:.1f}x the limit)",
         custom <= 2),
    ]


if __name__ == "__main__":  # python -m bench.limit: this section alone, against its own endpoint
    import sys

    from bench.runner import BENCH_ENV, log
    from forwarder_testing.endpoint_process import EndpointProcess

    os.environ.update(BENCH_ENV)
    with EndpointProcess({"record_accepted": False}) as endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint.url
        stdout, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115 - the handler's log lines
        try:
            result = run(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000, 5, log)
        finally:
            sys.stdout = stdout
        print("\n".join(section({"limit": result})))
        for row in targets({"limit": result}):
            print(row)
