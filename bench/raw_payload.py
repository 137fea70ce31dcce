"""BENCHMARKS.md's "Raw payloads" section: CPU per record of PutRawEvents (EVENT_PAYLOAD=raw) beside PutEvents,
both onto the Custom Event Bus (eventbridgev2, CBOR through botocore), at 0 ms latency.

Two workloads: the bench's SQS batch of JSON bodies (bench/workload.py), and a Kinesis batch of binary
records of KINESIS_DATA_BYTES (small enough for 10,000 of them to fit Lambda's 6 MB payload), which JSON mode
must wrap as `{"dataBase64": ...}` and raw mode sends as they are.
Each configuration is a Forwarder built from the environment as a cold start builds it; the configurations
are interleaved rep by rep, so a slow moment of the shared machine falls on all of them alike. "records ->
entries" is the stage where the two modes differ most (parse_event and the entry builder alone). The records
keep their deduplication ids from rep to rep, so after the first the endpoint answers DEDUPLICATED to both
modes alike (an answer of the same shape and size as PUBLISHED).
"""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.workload import BODY_BYTES, payload_bytes, sqs_event

BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/bench/abcdefghijklmnopqrstuvwxy"
KINESIS_DATA_BYTES = 40  # 56 bytes of base64 in a ~590-byte Kinesis record
MODES = {"PutEvents": {"EVENT_PAYLOAD": "json"}, "PutRawEvents": {"EVENT_PAYLOAD": "raw"}}


class _Quiet:
    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


def kinesis_binary_event(records: int) -> dict:
    from forwarder_testing.events import kinesis_record

    rng = random.Random(5)
    return {"Records": [kinesis_record(bytes([0xFF]) + rng.randbytes(KINESIS_DATA_BYTES - 1), sequence=index,
                                       partition_key=f"k{index % 64}") for index in range(records)]}


def run(endpoint_url: str, records: int, reps: int, log: Callable[[str], None]) -> dict[str, Any]:
    from forwarder.function.forwarder import build_forwarder
    from forwarder.function.report import Reporter
    from forwarder.records.event import parse_event

    os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    quiet = _Quiet()
    forwarders = {mode: build_forwarder({**os.environ, "EVENT_BUS_NAME": BUS, **env}, Reporter(quiet, quiet))
                  for mode, env in MODES.items()}
    events = {"SQS JSON": sqs_event(records), "Kinesis binary": kinesis_binary_event(records)}
    keys = [(workload, mode) for workload in events for mode in forwarders]
    handle: dict[str, list[float]] = {f"{w}|{m}": [] for w, m in keys}
    build: dict[str, list[float]] = {f"{w}|{m}": [] for w, m in keys}
    for _ in range(reps):
        for workload, mode in keys:
            forwarder, event, key = forwarders[mode], events[workload], f"{workload}|{mode}"
            started = time.process_time()
            forwarder.handle(event, None)
            handle[key].append(time.process_time() - started)
            shaper = None if forwarder.shaping is None else forwarder.shaping.for_batch()
            started = time.process_time()
            for record in parse_event(event)[1]:
                forwarder.build_entry(record, forwarder.settings, forwarder.target, None, shaper)
            build[key].append(time.process_time() - started)
    log("raw payloads: measured " + ", ".join(handle))
    return {"records": records, "reps": reps, "body_bytes": BODY_BYTES, "kinesis_data_bytes": KINESIS_DATA_BYTES,
            "event_bytes": {workload: payload_bytes(event) for workload, event in events.items()},
            "handle_cpu_s": handle, "build_cpu_s": build}


def section(results: dict) -> list[str]:
    raw = results.get("raw_payload")
    if not raw:
        return []
    records = raw["records"]

    def us(samples: list[float]) -> float:
        return statistics.median(samples) * 1e6 / records

    out = ["## Raw payloads", "",
           f"CPU per record onto a Custom Event Bus, {records:,} records (SQS bodies of {raw['body_bytes']} bytes, "
           f"Kinesis data of {raw.get('kinesis_data_bytes', raw['body_bytes'])} bytes"
           + "".join(f"; {w} event {b / 1e6:.2f} MB" for w, b in raw.get("event_bytes", {}).items())
           + ", against Lambda's 6 MB), 0 ms, "
           f"median of {raw['reps']} interleaved runs (`bench/raw_payload.py`"
           + (f"; load average {raw['loadavg']:.1f} on this shared machine" if "loadavg" in raw else "")
           + "): `PutEvents` (JSON mode) beside "
           "`PutRawEvents` (`EVENT_PAYLOAD=raw`). Binary Kinesis data is wrapped as base64 in JSON mode, sent as "
           "it is in raw mode.", "",
           "| workload | API | whole batch us/record | records -> entries us/record |",
           "| --- | --- | ---: | ---: |"]
    for key, samples in raw["handle_cpu_s"].items():
        workload, mode = key.split("|")
        out.append(f"| {workload} | {mode} | {us(samples):.1f} | {us(raw['build_cpu_s'][key]):.1f} |")
    out.append("")
    return out


if __name__ == "__main__":  # python -m bench.raw_payload: this section alone, against its own endpoint
    from bench.runner import BENCH_ENV, log
    from forwarder_testing.endpoint_process import EndpointProcess

    os.environ.update(BENCH_ENV)
    with EndpointProcess({"record_accepted": False}) as endpoint:
        print("\n".join(section({"raw_payload": run(endpoint.url, 2_000, 5, log)})))
