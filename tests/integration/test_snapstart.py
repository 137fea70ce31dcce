"""SnapStart: the hooks the handler registers, run the way Lambda's Python runtime runs them.

The hooks are called through `snapshot_restore_py`'s own registry, by the runner of Lambda's runtime
interface client (awslambdaric's `lambda_runtime_hooks_runner`, which the managed runtime runs after
init and after a restore), never by reaching into our functions. A snapshot restored into several
execution environments is played by fork: the process that ran init and the before-snapshot hooks is
copied, and each copy runs the after-restore hooks, as each environment resumed from one snapshot does.
Requests go to the fault endpoint on 127.0.0.1, which counts the connections it accepts.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import snapshot_restore_py
from awslambdaric import lambda_runtime_hooks_runner

from forwarder import handler
from forwarder.function.forwarder import Forwarder
from forwarder_testing.events import sqs_event
from forwarder_testing.lambda_context import LambdaContext

pytestmark = [
    pytest.mark.integration,
    # The copies only run the forwarder and exit; the endpoint's thread lives on in this process alone.
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]

CUSTOM_BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"


@pytest.fixture(autouse=True)
def hooks() -> Iterator[None]:
    """An empty registry for each test: only the hooks of the forwarder the test starts are run."""
    for registry in (snapshot_restore_py.get_before_snapshot(), snapshot_restore_py.get_after_restore()):
        registry.clear()
    yield
    for registry in (snapshot_restore_py.get_before_snapshot(), snapshot_restore_py.get_after_restore()):
        registry.clear()


def init(monkeypatch: pytest.MonkeyPatch, **env: str) -> Forwarder:
    """What Lambda's init runs for a SnapStart version: the handler's cold start (which registers the hooks)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return handler.cold_start(os.environ)


def restored_copies(count: int, work: Callable[[], Any]) -> list[Any]:
    """Fork `count` copies of this process after its snapshot hooks ran; each runs the after-restore hooks,
    then `work()`, and answers with its JSON result."""
    results = []
    for _ in range(count):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the copy: whatever happens, answer and leave without running pytest's teardown
            os.close(read_end)
            try:
                lambda_runtime_hooks_runner.run_after_restore()
                answer = {"result": work()}
            except BaseException as error:  # noqa: BLE001 - reported to the test process
                answer = {"error": repr(error)}
            with os.fdopen(write_end, "w") as out:
                out.write(json.dumps(answer))
            os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end) as source:
            text = source.read()
        os.waitpid(pid, 0)
        answer = json.loads(text or '{"error": "the copy died without an answer"}')
        assert "error" not in answer, answer["error"]
        results.append(answer["result"])
    return results


def test_the_handlers_cold_start_registers_both_kinds_of_hook(monkeypatch):
    init(monkeypatch)
    assert len(snapshot_restore_py.get_before_snapshot()) == 1
    assert len(snapshot_restore_py.get_after_restore()) == 2


def test_where_the_runtime_hooks_module_is_missing_the_function_still_starts():
    # Outside Lambda's managed runtime there may be no snapshot_restore_py: a fresh interpreter that cannot
    # import it runs the handler module's cold start all the same.
    script = (
        "import sys; sys.modules['snapshot_restore_py'] = None\n"  # None in sys.modules: import fails
        "from forwarder import handler\n"
        "from forwarder.function import snapstart\n"
        "assert snapstart.register(handler.cold_start({'EVENT_SOURCE': 's', 'EVENT_DETAIL_TYPE': 'd'})) is False\n"
        "print(callable(handler.lambda_handler))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stdout.strip()) == (0, "True"), result.stderr


def test_copies_restored_from_one_snapshot_draw_different_jitter(monkeypatch):
    # GIVEN a forwarder made at init, snapshotted with its jitter RNG
    forwarder = init(monkeypatch)
    lambda_runtime_hooks_runner.run_before_snapshot()
    # WHEN two environments resume from that snapshot and draw backoff jitter
    draws = restored_copies(2, lambda: [forwarder.publisher.options.rng.random() for _ in range(8)])
    # THEN they draw apart (without the hook both copies draw the very same sequence)
    assert draws[0] != draws[1]


def test_the_after_restore_hooks_reseed_the_shared_random_generator(monkeypatch):
    init(monkeypatch)
    lambda_runtime_hooks_runner.run_before_snapshot()
    before = random.getstate()
    lambda_runtime_hooks_runner.run_after_restore()
    assert random.getstate() != before


@pytest.mark.parametrize("bus", ["classic", "custom"])
def test_after_a_restore_the_next_request_connects_anew(monkeypatch, endpoint, bus):
    # The classic bus goes through the wire path's pool, the Custom Event Bus through a botocore client's.
    env = {"AWS_ENDPOINT_URL": endpoint.url, **({"EVENT_BUS_NAME": CUSTOM_BUS} if bus == "custom" else {})}
    invoke = handler.entry_point(init(monkeypatch, **env))
    for n in range(2):
        assert invoke(sqs_event([json.dumps({"n": n})]), LambdaContext()) == {"batchItemFailures": []}
    assert endpoint.stats()["connections"] == 1  # kept alive and reused, as a warm environment does
    lambda_runtime_hooks_runner.run_before_snapshot()
    lambda_runtime_hooks_runner.run_after_restore()
    assert invoke(sqs_event([json.dumps({"n": 2})]), LambdaContext()) == {"batchItemFailures": []}
    assert endpoint.stats()["connections"] == 2  # the connection from before the snapshot was not reused
    assert len(endpoint.accepted()) == 3


def test_a_copy_restored_from_a_snapshot_forwards_a_batch_and_reports_its_failure(monkeypatch, endpoint):
    # GIVEN a snapshot taken after a warm invocation left a keep-alive connection in the pool
    endpoint.configure(detail_rules=[{"contains": "poison", "code": "MalformedDetail"}])
    invoke = handler.entry_point(init(monkeypatch, AWS_ENDPOINT_URL=endpoint.url))
    assert invoke(sqs_event(['{"warm": 1}']), LambdaContext()) == {"batchItemFailures": []}
    lambda_runtime_hooks_runner.run_before_snapshot()
    event = sqs_event([json.dumps({"n": n}) for n in range(20)] + ['{"poison": true}'])
    # WHEN a restored copy handles a batch
    [response] = restored_copies(1, lambda: invoke(event, LambdaContext()))
    # THEN every record is confirmed but the one EventBridge refused, which alone is reported
    poison_id = event["Records"][-1]["messageId"]
    assert response == {"batchItemFailures": [{"itemIdentifier": poison_id}]}
    details = [json.loads(entry["Detail"]) for entry in endpoint.accepted()]
    assert sorted(d["n"] for d in details if "n" in d) == list(range(20))
