"""Runs every measurement in one process, beside one endpoint process, and returns the results as a dict.

Contenders are interleaved rep by rep within each (latency, batch size) cell, so a slow moment of the
shared machine falls on all of them alike. Each cell repeats up to `max_reps` times, while a
contender's time in that cell stays under `cell_budget_s` (so the slow contenders get fewer reps).
"""

from __future__ import annotations

import dataclasses
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from bench.workload import BODY_BYTES, payload_bytes, sqs_event
from forwarder_testing.endpoint_process import EndpointProcess

BENCH_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",  # noqa: S105 - dummy, the endpoint is local
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "EVENT_SOURCE": "bench.forwarder",
    "EVENT_DETAIL_TYPE": "OrderPlaced",
    "POWERTOOLS_SERVICE_NAME": "event-forwarder",
    "POWERTOOLS_METRICS_NAMESPACE": "EventForwarderBench",
}
CLEARED_ENV = ("AWS_PROFILE", "AWS_ENDPOINT_URL_EVENTBRIDGE", "EVENT_BUS_NAME", "MAX_CONCURRENCY", "_X_AMZN_TRACE_ID")


@dataclass
class Profile:
    name: str
    latencies_ms: list[int] = field(default_factory=lambda: [0, 10, 25])
    sizes: list[int] = field(default_factory=lambda: [100, 1_000, 10_000])
    max_reps: int = 5
    cell_budget_s: float = 15.0
    sweep_latencies_ms: list[int] = field(default_factory=lambda: [10, 25])
    sweep_concurrency: list[int] = field(default_factory=lambda: [4, 8, 16, 32, 64])
    sweep_size: int = 10_000
    sweep_reps: int = 3
    lever_size: int = 10_000
    lever_reps: int = 5
    coldstart_reps: int = 15
    memory_records: int = 10_000
    # The Lambda-share profile (bench/share.py): memory sizes, records per batch, reps, fixed concurrencies.
    share_memory_mb: list[int] = field(default_factory=lambda: [128, 256, 512, 1024, 1769])
    share_records: int = 2_000
    share_reps: int = 5
    share_latency_ms: int = 10
    share_concurrency: list[int] = field(default_factory=lambda: [4, 8, 16, 32])
    min_reps: int = 3  # for runs shorter than a tenth of the cell budget, whatever the budget says
    # "contender@latency" -> largest batch measured; larger cells are extrapolated in the report (and say so).
    caps: dict[str, int] = field(default_factory=lambda: {"per_record@0": 1_000, "per_record@25": 1_000})


PROFILES = {
    "full": Profile("full"),
    "quick": Profile("quick", sizes=[100, 1_000], max_reps=3, cell_budget_s=3.0, sweep_concurrency=[8, 16, 32],
                     sweep_size=2_000, sweep_reps=2, lever_size=2_000, lever_reps=3, coldstart_reps=5,
                     memory_records=10_000, share_memory_mb=[256, 1769], share_reps=3, share_concurrency=[4, 16]),
    "smoke": Profile("smoke", latencies_ms=[0], sizes=[20], max_reps=1, cell_budget_s=1.0, sweep_latencies_ms=[0],
                     sweep_concurrency=[2], sweep_size=20, sweep_reps=1, lever_size=20, lever_reps=1,
                     coldstart_reps=1, memory_records=200, min_reps=1, caps={}, share_memory_mb=[1769],
                     share_records=20, share_reps=1, share_latency_ms=0, share_concurrency=[2]),
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measure(contender: Any, prepared: Any, records: int) -> dict[str, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    failures = contender.run(prepared)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if failures:
        raise RuntimeError(f"{contender.key}: {failures} of {records} records failed; the measurement is void")
    return {"wall": wall, "cpu": cpu}


def run_cells(profile: Profile, endpoint: EndpointProcess, contenders: list[Any]) -> list[dict]:
    samples: list[dict] = []
    events = {size: sqs_event(size) for size in profile.sizes}
    warm = sqs_event(min(100, min(profile.sizes)))
    for latency in profile.latencies_ms:
        endpoint.configure(latency_ms=latency)
        for contender in contenders:  # connections open, code paths warm
            contender.run(contender.prepare(warm))
        for size in profile.sizes:
            prepared = {c.key: c.prepare(events[size]) for c in contenders
                        if size <= profile.caps.get(f"{c.key}@{latency}", size)}
            spent = dict.fromkeys(prepared, 0.0)
            last = dict.fromkeys(prepared, 0.0)
            for rep in range(profile.max_reps):
                for contender in contenders:
                    if contender.key not in prepared:
                        continue
                    # The cell the targets are read from gets min_reps for every run under a minute.
                    target_cell = latency == 10 and size == max(profile.sizes) and last[contender.key] < 60
                    cheap = rep < profile.min_reps and (last[contender.key] < profile.cell_budget_s / 10 or target_cell)
                    if rep and not cheap and spent[contender.key] + last[contender.key] > profile.cell_budget_s:
                        continue
                    sample = measure(contender, prepared[contender.key], size)
                    spent[contender.key] += sample["wall"]
                    last[contender.key] = sample["wall"]
                    samples.append({"contender": contender.key, "latency_ms": latency, "size": size, **sample})
                    log(f"{latency:>3} ms {size:>6} rec  {contender.key:<10} {sample['wall']:8.3f} s wall "
                        f"{sample['cpu'] * 1e6 / size:7.1f} us cpu/rec")
    return samples


# The handler's request path beside botocore's own client with and without its parameter validation.
REQUEST_PATHS = ("wire", "botocore", "botocore+validation")


def what_if(forwarder: Any, concurrency: int | None = None, path: str | None = None) -> Any:
    """The warm handler with a forwarder (and its own client) for other settings or another request path."""
    from bench.contenders import Forwarder
    from forwarder.function.forwarder import Forwarder as Pipeline
    from forwarder.net.clients import create_client
    from forwarder.targets.buses import ClassicBus, client_sender, target_for

    built = forwarder.forwarder
    settings = built.settings
    if concurrency is not None:
        settings = dataclasses.replace(settings, max_concurrency=concurrency)
    if path in (None, "wire"):
        target = target_for(settings)
    else:
        client = create_client("events", settings.max_concurrency, validate=path == "botocore+validation")
        target = ClassicBus(settings.event_bus_name, client_sender(client))
    return Forwarder(Pipeline(settings, target, built.report, built.claim_check, built.quarantine))


def run_levers(profile: Profile, endpoint: EndpointProcess, forwarder: Any) -> list[dict]:
    """MAX_CONCURRENCY sweep (wall), and the request path: wire or botocore's client (CPU, 0 ms)."""
    samples: list[dict] = []
    event, warm = sqs_event(profile.sweep_size), sqs_event(200)
    variants = {n: what_if(forwarder, concurrency=n) for n in profile.sweep_concurrency}
    for latency in profile.sweep_latencies_ms:
        endpoint.configure(latency_ms=latency)
        for variant in variants.values():
            measure(variant, warm, 200)
        for _rep in range(profile.sweep_reps):
            for concurrency, variant in variants.items():
                sample = measure(variant, event, profile.sweep_size)
                samples.append({"lever": "concurrency", "value": concurrency, "latency_ms": latency,
                                "size": profile.sweep_size, **sample})
                log(f"sweep {latency:>3} ms concurrency {concurrency:>3}: {sample['wall']:.3f} s")
    endpoint.configure(latency_ms=0)
    event = sqs_event(profile.lever_size)
    variants = {path: what_if(forwarder, path=path) for path in REQUEST_PATHS}
    for variant in variants.values():
        measure(variant, warm, 200)
    for _rep in range(profile.lever_reps):
        for path, variant in variants.items():
            sample = measure(variant, event, profile.lever_size)
            samples.append({"lever": "request_path", "value": path, "latency_ms": 0,
                            "size": profile.lever_size, **sample})
            log(f"request_path={path}: {sample['cpu'] * 1e6 / profile.lever_size:.1f} us cpu/rec")
    return samples


def machine() -> dict[str, Any]:
    import boto3
    import botocore
    from aws_lambda_powertools.shared.version import VERSION as powertools

    model = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), model)
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "os": f"{platform.system()} {platform.release()}",
        "boto3": boto3.__version__,
        "botocore": botocore.__version__,
        "powertools": powertools,
        "loadavg_start": os.getloadavg()[0],
    }


def run(profile: Profile) -> dict[str, Any]:
    from bench import coldstart, limit, memory, raw_payload, shaping, share
    from bench.contenders import ALL

    for name in CLEARED_ENV:
        os.environ.pop(name, None)
    os.environ.update(BENCH_ENV)
    started = time.time()
    results: dict[str, Any] = {"profile": dataclasses.asdict(profile), "body_bytes": BODY_BYTES}
    with EndpointProcess({"record_accepted": False}) as endpoint:  # counts only, not entries
        os.environ["AWS_ENDPOINT_URL"] = endpoint.url
        stdout = sys.stdout
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the handler's logs and EMF lines, until the end
        try:
            results["machine"] = machine()
            contenders = [cls() for cls in ALL]
            results["max_concurrency"] = contenders[0].forwarder.settings.max_concurrency
            results["samples"] = run_cells(profile, endpoint, contenders)
            results["levers"] = run_levers(profile, endpoint, contenders[0])
            endpoint.configure(latency_ms=0)
            results["limit"] = limit.run(profile.lever_size, profile.lever_reps, log)
            results["lambda_share"] = share.run(profile, endpoint, log)
            endpoint.configure(latency_ms=0)
            results["coldstart"] = coldstart.run(endpoint.url, profile.coldstart_reps, log)
            results["memory"] = memory.run(endpoint.url, profile.memory_records, log)
            results["shaping"] = shaping.run(endpoint.url, profile.lever_size, profile.lever_reps, log)
            results["raw_payload"] = raw_payload.run(endpoint.url, profile.lever_size, profile.lever_reps, log)
            results["endpoint_stats"] = endpoint.stats()
        finally:
            sys.stdout.close()
            sys.stdout = stdout
    results["machine"]["loadavg_end"] = os.getloadavg()[0]
    results["event_bytes"] = {size: payload_bytes(sqs_event(size)) for size in profile.sizes}
    results["duration_s"] = time.time() - started
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    log(f"done in {results['duration_s']:.0f} s")
    return results


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
