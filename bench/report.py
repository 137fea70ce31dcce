"""Results -> BENCHMARKS.md (medians, ratios, targets, levers, machine) and the throughput chart.

The figures come from ``figures`` (medians per cell, the targets), the page's sections from
``sections``, ``levers`` and ``share_report`` (which also draws its own chart); this module puts them
in order and draws the throughput chart.
"""

from __future__ import annotations

from pathlib import Path

from bench import limit, raw_payload, sections, shaping, share_report
from bench.figures import LABELS, SHORT, TARGET_LATENCY_MS, cells, targets
from bench.levers import levers

__all__ = ["cells", "chart", "markdown", "targets"]

NOTES = Path(__file__).with_name("notes.md")


def markdown(results: dict, chart: str | None, share_chart: str | None = None) -> str:
    c = cells(results)
    present = [k for k in LABELS if any(key == k for key, _, _ in c)]
    out = sections.header(results)
    out += sections.measured(results, present)
    out += sections.targets_table(results)
    out += sections.throughput(results, c, present, chart)
    out += sections.cpu_against_floor(results, c)
    out += limit.section(results)
    out += levers(results)
    out += share_report.section(results, share_chart)
    out += sections.cold_start(results)
    out += sections.memory(results)
    out += shaping.section(results)
    out += raw_payload.section(results)
    if NOTES.exists():
        out += [NOTES.read_text().rstrip(), ""]
    return "\n".join(out)


def chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = cells(results)
    sizes = sorted(results["profile"]["sizes"])
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=110)
    for key, label in SHORT.items():
        points = [(s, c[(key, TARGET_LATENCY_MS, s)]["rate"]) for s in sizes if (key, TARGET_LATENCY_MS, s) in c]
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(sizes, [f"{s:,}" for s in sizes])
    ax.set_xlabel("records per SQS batch")
    ax.set_ylabel("records per second (median)")
    m = results["machine"]
    ax.set_title(f"PutEvents throughput at {TARGET_LATENCY_MS} ms endpoint latency\n"
                 f"{m['cores']} cores, Python {m['python']}, boto3 {m['boto3']}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
