"""BENCHMARKS.md's "Levers" section: the MAX_CONCURRENCY sweep and the request paths side by side."""

from __future__ import annotations

from bench.figures import med

REQUEST_PATH_LABELS = {
    "wire": ("forwarder.net.wire (the handler's): own body, SigV4 and connections; "
             "botocore's credentials, endpoint, errors"),
    "botocore": "botocore client, parameter validation off",
    "botocore+validation": "botocore client, parameter validation on (botocore's default)",
}


def levers(results: dict) -> list[str]:
    levers = results.get("levers") or []
    out = ["## Levers", ""]
    sweep = [s for s in levers if s["lever"] == "concurrency"]
    if sweep:
        size = sweep[0]["size"]
        lat = sorted({s["latency_ms"] for s in sweep})
        values = sorted({s["value"] for s in sweep})
        out += [f"### MAX_CONCURRENCY (threads and connection pool), {size:,} records: records/s (CPU per record)", "",
                "| threads | " + " | ".join(f"{x} ms" for x in lat) + f" | requests/s at {lat[0]} ms |",
                "| ---: | " + " | ".join("---:" for _ in lat) + " | ---: |"]
        for v in values:
            row = []
            for x in lat:
                picked = [s for s in sweep if s["value"] == v and s["latency_ms"] == x]
                row.append(f"{size / med([s['wall'] for s in picked]):,.0f} "
                           f"({med([s['cpu'] for s in picked]) * 1e6 / size:.0f} us)" if picked else "")
            walls = [s["wall"] for s in sweep if s["value"] == v and s["latency_ms"] == lat[0]]
            out.append(f"| {v} | " + " | ".join(row) + f" | {size / 10 / med(walls):,.0f} |")
        out.append("")
    paths = [s for s in levers if s["lever"] == "request_path"]
    if paths:
        size = paths[0]["size"]
        out += [f"### Request path, {size:,} records, 0 ms: the handler's wire path beside botocore's client", "",
                "| request path | CPU us/record | wall s |", "| --- | ---: | ---: |"]
        for path in dict.fromkeys(s["value"] for s in paths):
            picked = [s for s in paths if s["value"] == path]
            cpu_us, wall = med([s["cpu"] for s in picked]) * 1e6 / size, med([s["wall"] for s in picked])
            out.append(f"| {REQUEST_PATH_LABELS.get(path, path)} | {cpu_us:.0f} | {wall:.3f} |")
        out.append("")
    return out
