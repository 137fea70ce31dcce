"""The Lambda-share profile: the forwarder and the AWS docs loop under the CPU a function of each memory size gets.

Lambda gives CPU in proportion to memory (1,769 MB is one vCPU). For each memory size, one child process
(``python -m bench.share '<json>'``) builds the contenders, warms them, and only then is moved into a
cgroup with that CPU quota (``forwarder_testing.cpu_share``); it runs them interleaved, rep by rep, and
writes wall and CPU time per run. The child has ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE`` set as Lambda sets
it, so the forwarder's default settings are those a function of that size gets; the forwarder also runs
at fixed MAX_CONCURRENCY values beside it (the sweep the default is chosen from).

Where no CPU quota can be set, the section records why and the rest of the benchmark goes on.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from forwarder_testing.cpu_share import QuotaUnavailable, cpu_quota, lambda_share, run_throttled

CHILD_TIMEOUT_S = 900
ROOT = Path(__file__).resolve().parent.parent


def run(profile: Any, endpoint: Any, log: Callable[[str], None]) -> dict:
    """Every memory size of the profile, one child each, at the profile's endpoint latency."""
    endpoint.configure(latency_ms=profile.share_latency_ms)
    out: dict[str, Any] = {"records": profile.share_records, "latency_ms": profile.share_latency_ms,
                           "concurrency": profile.share_concurrency, "sizes": {}}
    for memory_mb in profile.share_memory_mb:
        try:
            out["sizes"][str(memory_mb)] = _one_size(profile, memory_mb, log)
        except QuotaUnavailable as reason:
            log(f"lambda share skipped: {reason}")
            return {**out, "skipped": str(reason)}
    return out


def run_alone(profile: Any, results: dict[str, Any]) -> dict[str, Any]:
    """The Lambda-share profile alone, put into `results` (a previous run's) in place of its own."""
    from bench.runner import BENCH_ENV, CLEARED_ENV, log
    from forwarder_testing.endpoint_process import EndpointProcess

    for name in CLEARED_ENV:
        os.environ.pop(name, None)
    os.environ.update(BENCH_ENV)
    with EndpointProcess({"record_accepted": False}) as endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint.url
        results["lambda_share"] = {**run(profile, endpoint, log), "profile": profile.name,
                                   "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                                   "loadavg": os.getloadavg()[0]}
    return results


def _one_size(profile: Any, memory_mb: int, log: Callable[[str], None]) -> list[dict]:
    with tempfile.TemporaryDirectory() as scratch:
        result_path = Path(scratch) / "result.json"
        config = {"memory_mb": memory_mb, "records": profile.share_records, "reps": profile.share_reps,
                  "concurrency": profile.share_concurrency, "result_path": str(result_path)}
        with cpu_quota(lambda_share(memory_mb)) as join:
            run_throttled(join, [sys.executable, "-m", "bench.share", json.dumps(config)],
                          Path(scratch) / "child.log", CHILD_TIMEOUT_S)
        samples = json.loads(result_path.read_text())
    for key in dict.fromkeys(s["contender"] for s in samples):
        walls = sorted(s["wall"] for s in samples if s["contender"] == key)
        log(f"share {memory_mb:>5} MB {key:<14} {profile.share_records / walls[len(walls) // 2]:8,.0f} records/s")
    return samples


def _contenders(concurrency: list[int]) -> dict[str, Any]:
    from bench.contenders import Chunked, Forwarder
    from bench.runner import what_if

    forwarder = Forwarder()
    contenders = {"forwarder": forwarder, "chunked": Chunked()}
    for n in concurrency:
        contenders[f"forwarder@{n}"] = what_if(forwarder, concurrency=n)
    return contenders


def child(config: dict) -> list[dict]:
    """In the child: build and warm outside the quota, say `ready`, wait for the parent, then measure."""
    from bench.runner import measure
    from bench.workload import sqs_event

    contenders = _contenders(config["concurrency"])
    event, warm = sqs_event(config["records"]), sqs_event(100)
    for contender in contenders.values():
        contender.run(contender.prepare(warm))
    print("ready", file=sys.stderr, flush=True)
    sys.stdin.readline()  # the parent has moved us into the cgroup
    samples = []
    for rep in range(config["reps"]):
        order = list(contenders.items()) if rep % 2 == 0 else list(reversed(contenders.items()))
        for key, contender in order:
            sample = measure(contender, contender.prepare(event), config["records"])
            samples.append({"contender": key, "memory_mb": config["memory_mb"], **sample})
    return samples


def main(argument: str) -> None:
    config = json.loads(argument)
    os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = str(config["memory_mb"])  # before any settings are read
    started = time.perf_counter()
    samples = child(config)
    print(f"measured in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    Path(config["result_path"]).write_text(json.dumps(samples))


if __name__ == "__main__":
    main(sys.argv[1])
