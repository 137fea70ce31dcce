"""BENCHMARKS.md's "Shaping" section: CPU per record of a typical EVENT_DETAIL and EVENT_FILTER beside none.

Each configuration is a Forwarder built from the environment as a cold start builds it, handling the same
SQS batch against the endpoint at 0 ms latency; the configurations are interleaved rep by rep, so a slow
moment of the shared machine falls on all of them alike. "records -> entries" is the stage the expressions
run in (parse_event and build_entry alone), where their cost is not hidden by the requests'.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.workload import sqs_event

CONFIGURATIONS = {
    "none": {},
    "EVENT_DETAIL": {"EVENT_DETAIL": "{orderId: body.orderId, customer: body.customer.id, total: body.total, "
                                     "queue: eventSourceARN}"},
    "EVENT_FILTER": {"EVENT_FILTER": "body.customer.tier != 'blocked'"},  # keeps every record of the workload
    "both": {"EVENT_DETAIL": "{orderId: body.orderId, total: body.total}", "EVENT_FILTER": "body.total > `0`"},
}


class _Quiet:
    """Logger and metrics that write nothing: the section measures shaping, not log lines."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


def run(endpoint_url: str, records: int, reps: int, log: Callable[[str], None]) -> dict[str, Any]:
    from forwarder.entries.json_entries import build_entry
    from forwarder.function.forwarder import build_forwarder
    from forwarder.function.report import Reporter
    from forwarder.records.event import parse_event

    os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    quiet = _Quiet()
    forwarders = {name: build_forwarder({**os.environ, **env}, Reporter(quiet, quiet))
                  for name, env in CONFIGURATIONS.items()}
    event = sqs_event(records)
    handle: dict[str, list[float]] = {name: [] for name in forwarders}
    build: dict[str, list[float]] = {name: [] for name in forwarders}
    for _ in range(reps):
        for name, forwarder in forwarders.items():
            started = time.process_time()
            forwarder.handle(event, None)
            handle[name].append(time.process_time() - started)
            shaper = None if forwarder.shaping is None else forwarder.shaping.for_batch()
            started = time.process_time()
            for record in parse_event(event)[1]:
                build_entry(record, forwarder.settings, forwarder.target, None, shaper)
            build[name].append(time.process_time() - started)
    log("shaping: measured " + ", ".join(CONFIGURATIONS))
    return {"records": records, "reps": reps, "expressions": CONFIGURATIONS,
            "handle_cpu_s": handle, "build_cpu_s": build}


def section(results: dict) -> list[str]:
    shaping = results.get("shaping")
    if not shaping:
        return []
    records = shaping["records"]

    def us(samples: list[float]) -> float:
        return statistics.median(samples) * 1e6 / records

    out = ["## Shaping", "",
           f"CPU per record, {records:,} records, 0 ms, median of {shaping['reps']} interleaved runs "
           "(`bench/shaping.py`).", "",
           "| expressions | whole batch us/record | records -> entries us/record | expression |",
           "| --- | ---: | ---: | --- |"]
    for name, env in shaping["expressions"].items():
        text = "; ".join(f"`` {k}={v} ``" for k, v in env.items()) or "none set: no record view is built"
        out.append(f"| {name} | {us(shaping['handle_cpu_s'][name]):.1f} | {us(shaping['build_cpu_s'][name]):.1f} "
                   f"| {text} |")
    out.append("")
    return out


if __name__ == "__main__":  # python -m bench.shaping: this section alone, against its own endpoint
    from bench.runner import BENCH_ENV, log
    from forwarder_testing.endpoint_process import EndpointProcess

    os.environ.update(BENCH_ENV)
    with EndpointProcess({"record_accepted": False}) as endpoint:
        print("\n".join(section({"shaping": run(endpoint.url, 2_000, 7, log)})))
