"""A Lambda-sized CPU share for one child process, and the child that runs the handler under it.

Lambda gives a function CPU in proportion to its memory: 1,769 MB is one vCPU, so a 256 MB function
gets about a seventh of one core. A cgroup CPU quota does the same to a process here: ``cpu_quota``
makes a new cgroup (v1 ``cpu.cfs_quota_us``, or v2 ``cpu.max``) and yields a function that moves a
process into it, and removes the cgroup afterwards. Where no cgroup is writable it raises
``QuotaUnavailable`` saying why, so that a test can skip with that reason. ``lambda_share(memory_mb)``
is the share Lambda gives a function of that memory size.

``run_throttled(join, command, log_path, timeout_s)`` runs any child that follows the handshake below
(the handler child here, the benchmark's ``bench.share``): it starts the child, waits for its
``ready``, moves it into the cgroup with ``join`` and lets it go, so that only the measured part runs
under the quota (an import under a seventh of a core would take seconds, and Lambda's init gets more).

The child (``python -m forwarder_testing.cpu_share '<json>'``) takes the
environment in its JSON argument, does the cold start and builds the event (or reads it from
``event_path``), writes ``ready`` to
stderr, waits for a line on stdin (the parent moves it into the cgroup meanwhile), then invokes the
handler once with a context of ``remaining_ms`` and writes to ``result_path`` how long the call took
and which records the response named. Its
stdout (the handler's logs) should go to a file, as Lambda's runtime drains it: a pipe nobody reads
would stall it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from forwarder_testing.events import sqs_event
from forwarder_testing.lambda_context import LambdaContext

CGROUP_V1_CPU = Path("/sys/fs/cgroup/cpu")
CGROUP_V2 = Path("/sys/fs/cgroup")
# The quota is given per 20 ms: a period far shorter than the runs measured under it (a 2,000-record batch at a 256 MB
# share takes about a quarter of a second). At the kernel's default 100 ms, a run that started with a period's
# unused quota in hand finished before it was throttled much: runs of two or three periods read up to a third faster
# than the share allows (the 256 MB share read 10,922 records/s at 18 us of CPU per record, where 0.145 of a core
# does at most 8,000). 20 ms still gives 128 MB's share its 1.45 ms, above the kernel's minimum quota of 1 ms.
PERIOD_US = 20_000
ONE_VCPU_MB = 1769  # Lambda: a function with 1,769 MB has the equivalent of one vCPU


class QuotaUnavailable(Exception):
    """This machine lets us set no CPU quota (not Linux, no cgroup cpu controller, or not writable)."""


def lambda_share(memory_mb: int) -> float:
    """The CPU (in cores) Lambda gives a function of `memory_mb`: proportional to memory."""
    return memory_mb / ONE_VCPU_MB


def run_throttled(join: Callable[[int], None], command: list[str], log_path: Path, timeout_s: float) -> None:
    """Run `command` (a child that prints `ready` to stderr, then waits for a line on stdin), putting it
    under the quota between the two. Its stdout goes to `log_path`; a failed child raises with its stderr."""
    with log_path.open("w") as log:
        child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.PIPE, text=True)
        try:
            ready = child.stderr.readline() if child.stderr else ""
            if ready.strip() != "ready":
                child.kill()
                raise RuntimeError(f"the child did not start: {ready}{child.communicate()[1]}")
            join(child.pid)
            _, errors = child.communicate("go\n", timeout=timeout_s)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    if child.returncode:
        raise RuntimeError(f"the child failed ({child.returncode}): {errors[-3000:]}")


@contextmanager
def cpu_quota(share: float) -> Iterator[Callable[[int], None]]:
    """A new cgroup limited to `share` of one CPU; yields `join(pid)`, which moves a whole process in."""
    group = _make_group(share)
    try:
        yield lambda pid: (group / "cgroup.procs").write_text(str(pid))
    finally:
        _remove_group(group)


def _make_group(share: float) -> Path:
    quota_us = max(1000, round(PERIOD_US * share))  # the kernel's minimum quota is 1 ms
    if (CGROUP_V1_CPU / "cpu.cfs_quota_us").exists():
        group = _mkdir(CGROUP_V1_CPU)
        _write(group, "cpu.cfs_period_us", str(PERIOD_US))
        _write(group, "cpu.cfs_quota_us", str(quota_us))
        return group
    if "cpu" in _read(CGROUP_V2 / "cgroup.subtree_control").split():
        group = _mkdir(CGROUP_V2)
        _write(group, "cpu.max", f"{quota_us} {PERIOD_US}")
        return group
    raise QuotaUnavailable("no cgroup cpu controller: neither cgroup v1 cpu nor cgroup v2 with cpu enabled")


def _mkdir(parent: Path) -> Path:
    group = parent / f"forwarder-test-{uuid.uuid4().hex[:12]}"
    try:
        group.mkdir()
    except OSError as error:
        raise QuotaUnavailable(f"cannot create a cgroup under {parent}: {error}") from error
    return group


def _write(group: Path, name: str, value: str) -> None:
    try:
        (group / name).write_text(value)
    except OSError as error:
        _remove_group(group)
        raise QuotaUnavailable(f"cannot set {group / name}: {error}") from error


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _remove_group(group: Path) -> None:
    """rmdir fails while the group holds a process: wait a moment for the child to be reaped."""
    for _ in range(50):
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)
    group.rmdir()


def child(config: dict) -> dict:
    os.environ.update(config["env"])
    import forwarder.handler as handler  # the cold start (the settings are read at import), before the quota

    if config.get("event_path"):  # a batch the test built (written to a file: a 6 MB event is no argument)
        event = json.loads(Path(config["event_path"]).read_text())
    else:
        event = sqs_event(json.dumps({"n": i, "pad": "x" * 200}) for i in range(config["records"]))
    print("ready", file=sys.stderr, flush=True)
    sys.stdin.readline()  # the parent has moved us into the cgroup
    context = LambdaContext(timeout_ms=config["remaining_ms"])
    started, cpu_started = time.monotonic(), time.process_time()
    response = handler.lambda_handler(event, context)
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu_started
    reported = [failure["itemIdentifier"] for failure in response["batchItemFailures"]]
    return {"elapsed_s": elapsed, "cpu_s": cpu, "reported": len(reported), "reported_ids": reported}


if __name__ == "__main__":
    arguments = json.loads(sys.argv[1])
    result = child(arguments)
    Path(arguments["result_path"]).write_text(json.dumps(result))
