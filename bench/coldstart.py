"""Cold start: a fresh process importing the handler and answering a one-record batch, against a fresh
process doing `import boto3`, creating the client and making one put_events call. Interleaved.

The parent times each process from spawn to exit (what a cold start costs, interpreter start included);
each child also reports its own time from its first line to the answer (imports, client, one call).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.workload import sqs_event

ROOT = Path(__file__).resolve().parent.parent

FORWARDER = """\
import time; _t0 = time.perf_counter()
import json, sys
import forwarder.handler
class Context:
    function_name = "event-forwarder"; memory_limit_in_mb = 256; aws_request_id = "cold-start"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:event-forwarder"
    def get_remaining_time_in_millis(self): return 60_000
with open(sys.argv[1]) as f: event = json.load(f)
response = forwarder.handler.lambda_handler(event, Context())
assert response == {"batchItemFailures": []}, response
print(f"BENCH_T={time.perf_counter() - _t0}", file=sys.stderr)
"""

BOTO3 = """\
import time; _t0 = time.perf_counter()
import json, sys
import boto3
client = boto3.client("events")
with open(sys.argv[1]) as f: body = json.load(f)["Records"][0]["body"]
response = client.put_events(Entries=[{"Source": "bench.forwarder", "DetailType": "OrderPlaced", "Detail": body,
                                       "EventBusName": "default"}])
assert response["FailedEntryCount"] == 0, response
print(f"BENCH_T={time.perf_counter() - _t0}", file=sys.stderr)
"""

SCRIPTS = {"forwarder": FORWARDER, "boto3": BOTO3}


def _once(script: str, event_path: str, env: dict[str, str]) -> tuple[float, float]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script, event_path], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    wall = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"cold start process failed: {done.stderr[-2000:]}")
    inner = next(line for line in done.stderr.splitlines() if line.startswith("BENCH_T="))
    return wall, float(inner.split("=", 1)[1])


def run(endpoint_url: str, reps: int, log: Callable[[str], None]) -> dict:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint_url, "PYTHONDONTWRITEBYTECODE": ""}
    results: dict[str, dict[str, list[float]]] = {k: {"process": [], "inner": []} for k in SCRIPTS}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(sqs_event(1), f)
    try:
        for script in SCRIPTS.values():  # one untimed run each: bytecode caches written
            _once(script, f.name, env)
        for rep in range(reps):
            order = list(SCRIPTS.items()) if rep % 2 == 0 else list(reversed(SCRIPTS.items()))
            for name, script in order:
                wall, inner = _once(script, f.name, env)
                results[name]["process"].append(wall)
                results[name]["inner"].append(inner)
        log("cold start: " + ", ".join(f"{k} {statistics.median(v['process']) * 1000:.0f} ms" for k, v in
                                        results.items()))
    finally:
        os.unlink(f.name)
    return {**results, "imports": import_times(env, reps)}


def import_times(env: dict[str, str], reps: int) -> dict[str, float]:
    """Median self time (seconds) of every module `import forwarder.handler` loads (`python -X importtime`)."""
    runs: dict[str, list[float]] = {}
    for _ in range(max(3, reps // 3)):
        done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import forwarder.handler"], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=120, check=True)
        for line in done.stderr.splitlines():
            if line.startswith("import time:") and "|" in line and "[us]" not in line:
                self_us, _cumulative, name = (part.strip() for part in line[len("import time:"):].split("|"))
                runs.setdefault(name, []).append(int(self_us) / 1e6)
    return {name: statistics.median(times) for name, times in runs.items()}


def by_package(imports: dict[str, float]) -> dict[str, float]:
    """Self times summed by top-level package (the forwarder's own modules as `forwarder`)."""
    totals: dict[str, float] = {}
    for name, seconds in imports.items():
        package = name.split(".")[0]
        totals[package] = totals.get(package, 0.0) + seconds
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))
