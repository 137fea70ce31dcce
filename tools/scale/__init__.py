"""``make scale``: many function instances sharing one PutEvents quota.

Two parts. The fleets (``fleet``, ``fleet_report``): 4 to 200 instances, threads running the real
``Publisher`` on one virtual clock against a simulated quota of requests/s and entries/s, each instance's
request in flight 5 to 20 times its fair share, at 10 and 50 ms, with the quota halving and doubling mid-run;
they check pacing below one request in flight. The processes (below): fixed concurrency against adaptive.

N instances (8 by default), each its own process and a warm Forwarder built as a cold start builds it,
forward a steady stream of SQS batches to one fault endpoint (its own process) whose request quota is below
what they would send unthrottled. Records an invocation reports come back in the instance's next batch, as
SQS hands them out again; once the stream ends, each instance delivers what is still reported until nothing
is. Each policy runs in turn against the same endpoint, reset in between (``--rounds`` alternates them
several times), and the run writes, per policy: goodput against the quota, the share of requests
throttled, records reported after their attempts ran out, p50/p99 batch latency, requests per record, and
whether anything was lost or duplicated.

- ``instance``: one function instance (a process): its stream of batches and what it saw.
- ``run``: one policy's phase, and the run of all of them; ``report``: the figures as Markdown.
- ``fleet``: the fleet cases and their figures; ``fleet_report``: those as Markdown, with the targets.
- ``command``: the command line (``python -m tools.scale --help``).
"""
