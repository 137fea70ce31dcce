"""Every `sam deploy --parameter-overrides ...` the docs show gives the template the values it means.

The SAM CLI parses overrides with a grammar of its own: a value with double quotes in it (a JSON filter
pattern) must stand inside single quotes of the SAM CLI's, or it is cut at its first quote (`{`), which the
parameter's AllowedPattern then refuses mid-deployment. Each command is split as the shell splits it, its
overrides parsed by the SAM CLI's own parser (in .venv-sam), and each value checked against its parameter.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from tests.deploy.test_deploy import ROOT, SAM_BIN, TEMPLATE, run, tool

pytestmark = pytest.mark.deploy

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PARSE = (
    "import json, sys; from samcli.cli.types import CfnParameterOverridesType; "
    "print(json.dumps(CfnParameterOverridesType().convert(tuple(json.loads(sys.argv[1])), None, None)))"
)


def documented_overrides() -> list[tuple[str, list[str]]]:
    """(where, the override arguments) of each one-line `sam deploy` command with --parameter-overrides."""
    found = []
    for path in DOCS:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.startswith("sam deploy") and "--parameter-overrides" in line:
                words = shlex.split(line)
                start = words.index("--parameter-overrides") + 1
                ends = [i for i, word in enumerate(words[start:], start) if word.startswith("--")]
                found.append((f"{path.name}:{number}", words[start:ends[0] if ends else len(words)]))
    return found


class Loader(yaml.SafeLoader):
    """Reads template.yaml's short-form intrinsics (!Ref, !If, ...) as plain values."""


Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def test_the_docs_show_overrides():
    assert any(where.startswith("README.md") for where, _ in documented_overrides())


@pytest.mark.parametrize(("where", "overrides"), documented_overrides())
def test_each_documented_override_reaches_its_parameter_whole(where: str, overrides: list[str]) -> None:
    parameters = yaml.load(Path(TEMPLATE).read_text(), Loader=Loader)["Parameters"]  # noqa: S506 - SafeLoader
    result = run([tool(SAM_BIN, "python"), "-c", PARSE, json.dumps(overrides)])
    values = json.loads(result.stdout)
    assert values, where
    for name, value in values.items():
        assert name in parameters, f"{where}: {name} is not a template parameter"
        pattern = parameters[name].get("AllowedPattern")
        assert pattern is None or re.fullmatch(pattern, value), f"{where}: {name} would be {value!r}"
        if name.endswith("FilterPattern"):
            assert isinstance(json.loads(value), dict), f"{where}: {name} is not a JSON object: {value!r}"
