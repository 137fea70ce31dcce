"""Peak memory of one big batch in a fresh process (VmHWM, the peak RSS), as a 256 MB function would hold it.

The child imports the handler, receives the event as Lambda's runtime does (the JSON payload, then
json.loads), keeps the payload alive as a worst case, and answers it against the endpoint.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """\
import json, sys
def rss_mb():  # VmHWM: this process's peak RSS (ru_maxrss would carry over the parent's, across fork and exec)
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
baseline = rss_mb()
import forwarder.handler
from bench.workload import sqs_event
after_import = rss_mb()
payload = json.dumps(sqs_event(int(sys.argv[1])), separators=(",", ":")).encode()
event = json.loads(payload)
before = rss_mb()
class Context:
    function_name = "event-forwarder"; memory_limit_in_mb = 256; aws_request_id = "memory"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:event-forwarder"
    def get_remaining_time_in_millis(self): return 900_000
response = forwarder.handler.lambda_handler(event, Context())
assert response == {"batchItemFailures": []}, len(response["batchItemFailures"])
print(json.dumps({"interpreter_mb": baseline, "after_import_mb": after_import, "event_loaded_mb": before,
                  "peak_mb": rss_mb(), "payload_bytes": len(payload)}), file=sys.stderr)
"""


def run(endpoint_url: str, records: int, log: Callable[[str], None]) -> dict:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint_url}
    done = subprocess.run([sys.executable, "-c", CHILD, str(records)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    if done.returncode:
        raise RuntimeError(f"memory process failed: {done.stderr[-2000:]}")
    result = json.loads(done.stderr.strip().splitlines()[-1])
    result["records"] = records
    log(f"memory: {records} records, payload {result['payload_bytes'] / 1e6:.1f} MB, peak {result['peak_mb']:.0f} MB")
    return result
