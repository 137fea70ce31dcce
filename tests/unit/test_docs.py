"""The README and docs/ stay true to the tree: links land, and the reference tables name every setting.

Each page is read as GitHub renders it: a link to a heading uses GitHub's anchor for it (lower case,
punctuation dropped, spaces to hyphens, `-1`, `-2` for repeats).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from forwarder.config.settings import ENVIRONMENT_VARIABLES

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^()\s]+)\)")
CODE_SPAN = re.compile(r"`[^`]*`")


def outside_code_blocks(page: Path) -> list[str]:
    lines, fenced = [], False
    for line in page.read_text().splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def anchors(page: Path) -> set[str]:
    found, counts = set(), {}
    for line in outside_code_blocks(page):
        heading = re.match(r"#{1,6} (.*)", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
            repeat = counts.get(slug, 0)
            counts[slug] = repeat + 1
            found.add(f"{slug}-{repeat}" if repeat else slug)
    return found


def relative_links(page: Path) -> list[str]:
    links = [target for line in outside_code_blocks(page) for target in LINK.findall(CODE_SPAN.sub("", line))]
    return [link for link in links if not re.match(r"[a-z]+:", link)]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_lands_on_a_file_and_heading(page):
    assert page.exists()
    broken = []
    for link in relative_links(page):
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            broken.append(f"{link}: no such file")
        elif anchor and anchor not in anchors(target):
            broken.append(f"{link}: no such heading in {target.relative_to(ROOT)}")
    assert broken == []


def test_the_link_check_sees_links_and_headings_as_github_does():
    readme = ROOT / "README.md"
    assert "docs/deploy.md#parameters" in relative_links(readme)
    assert {"quick-start", "configuration"} <= anchors(readme)
    assert "large-payloads-claim-check" in anchors(ROOT / "docs" / "reliability.md")


def section(page: Path, heading: str) -> str:
    """The text under a heading, up to the next heading of the same level."""
    text = page.read_text()
    level = heading.split(" ")[0]
    rest = text[text.index(heading + "\n") + len(heading):]
    following = re.search(rf"^{level} ", rest, re.M)
    return rest[: following.start()] if following else rest


def test_the_readme_configuration_table_names_every_variable_the_settings_read():
    text = section(ROOT / "README.md", "## Configuration")
    missing = [name for name in ENVIRONMENT_VARIABLES if f"| `{name}` |" not in text]
    assert missing == []


def template_parameters() -> list[str]:
    text = (ROOT / "template.yaml").read_text()
    block = re.search(r"^Parameters:\n(.*?)^\S", text, re.M | re.S).group(1)
    return re.findall(r"^  (\w+):", block, re.M)


def test_the_deploy_guide_names_every_template_parameter():
    parameters = template_parameters()
    assert "EventBusName" in parameters and len(parameters) > 30
    text = section(ROOT / "docs" / "deploy.md", "## Parameters")
    missing = [name for name in parameters if f"`{name}`" not in text]
    assert missing == []


def code_lines(text: str) -> list[str]:
    """The lines inside fenced code blocks: what a reader copies and runs."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced:
            lines.append(line)
    return lines


def test_the_readme_installs_only_what_exists_until_a_release_is_published():
    install = section(ROOT / "README.md", "## Install")
    commands = code_lines(install)
    assert "Nothing is published yet" in install
    assert not [line for line in commands if "pip install eventbridge-forwarder" in line or "serverlessrepo" in line]
    assert any(line.startswith("pip install .") for line in commands)
    assert "sam build && sam deploy" in install
    release = section(ROOT / "docs" / "deploy.md", "### Publishing a release (maintainers)")
    assert "pip install eventbridge-forwarder " in "\n".join(code_lines(release))
    assert "Not yet possible" in section(ROOT / "docs" / "deploy.md", "## Deploy the published application")
    assert "Not published yet" in section(ROOT / "docs" / "library.md", "## Install")


def test_the_example_entries_are_the_putevents_guide_s_two_entries_in_the_aws_cli_format():
    import json

    entries = json.loads((ROOT / "examples" / "entries.json").read_text())
    assert len(entries) == 2
    assert all({"Source", "DetailType", "Detail", "Resources"} <= entry.keys() for entry in entries)
    assert all(isinstance(json.loads(entry["Detail"]), dict) for entry in entries)
    assert "file://examples/entries.json" in section(ROOT / "docs" / "library.md", "### Try it without AWS")


# Powertools' Metrics adds ColdStart (dimensions function_name and service) to the metrics the code adds.
POWERTOOLS_METRICS = {"ColdStart"}


def emitted_metrics() -> set[str]:
    """Every metric name the function adds, read from its source (each `add("Name", ...)` / `add_metric`)."""
    names: set[str] = set()
    for path in (ROOT / "src" / "forwarder").rglob("*.py"):
        names |= set(re.findall(r"\badd(?:_metric)?\(\s*\"([A-Za-z]+)\"", path.read_text()))
    return names | POWERTOOLS_METRICS


def test_the_metric_reference_names_every_metric_the_function_emits():
    text = section(ROOT / "docs" / "operations.md", "## Metric reference")
    listed = re.findall(r"^\| `(\w+)` \| Count \|", text, re.M)
    assert sorted(listed) == sorted(emitted_metrics())  # each once
    assert {"RecordsReceived", "PutEventsThrottled", "InFlightLimit", "VisibilityChanged"} <= set(listed)
