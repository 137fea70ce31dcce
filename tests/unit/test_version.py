"""One version, written in pyproject.toml, and every place that reports it agrees: forwarder.__version__,
`python -m forwarder --version`, the User-Agent's app id, the template's Serverless Application Repository
entry, and CHANGELOG.md's latest release."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib.metadata import version as installed_version

import pytest

import forwarder
from forwarder.version import read_version, user_agent_appid
from tests.conftest import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
VERSION = PROJECT["version"]


def test_the_package_reports_pyprojects_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION)
    assert forwarder.__version__ == VERSION
    assert installed_version(PROJECT["name"]) == VERSION  # the editable install's metadata: `make venv` is current
    assert user_agent_appid() == f"eventbridge-forwarder#{VERSION}"


def test_the_command_reports_it():
    result = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "forwarder", "--version"], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["python", "-m", "forwarder", VERSION]


def test_the_serverless_application_repository_entry_has_it():
    # Read as text here; tests/deploy/test_release.py reads the entry with the SAM CLI's own publish code.
    template = (ROOT / "template.yaml").read_text()
    entry = re.search(r"^  AWS::ServerlessRepo::Application:\n((?:    .*\n)+)", template, re.M).group(1)
    assert re.findall(r"^    SemanticVersion: (\S+)$", entry, re.M) == [VERSION]


def test_the_changelogs_latest_release_is_it():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    sections = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", changelog, re.M)
    assert sections[0] == ("Unreleased", "")
    assert sections[1][0] == VERSION and sections[1][1]
    released = [name for name, _ in sections[1:]]
    assert released == sorted(released, key=lambda v: tuple(map(int, v.split("."))), reverse=True)
    for name, _ in sections:  # Keep a Changelog: each heading links to its comparison or tag
        assert re.search(rf"^\[{re.escape(name)}\]: https://\S+$", changelog, re.M), name


def test_the_bundles_copy_of_pyproject_is_read_and_a_broken_link_is_named(tmp_path):
    copy = tmp_path / "_pyproject.toml"
    copy.write_text('[project]\nname = "eventbridge-forwarder"\nversion = "9.8.7"\n')
    assert read_version(copy) == "9.8.7"
    copy.write_text("../../pyproject.toml")  # a link checked out as text (git's core.symlinks=false)
    with pytest.raises(RuntimeError, match="check out the project with symbolic links"):
        read_version(copy)
    assert read_version(tmp_path / "absent.toml") == VERSION  # no file: the installed package's metadata
