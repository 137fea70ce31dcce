"""The package PyPI gets: `python -m build` makes an sdist and a wheel, twine accepts both, the wheel holds the
forwarder package and nothing else, and installed alone in a fresh virtual environment it runs the
`eventbridge-put-events` command and `from forwarder import put_events` against the fault endpoint.

Marker `package`: building takes setuptools, and the fresh environment the forwarder's dependencies, from the
pip cache or the package index (the machine's pip configuration); about 20 s in all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.package]

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
DIST_INFO = f"eventbridge_forwarder-{PROJECT['version']}.dist-info"
ENTRY = {"Source": "packaged", "DetailType": "T", "Detail": {"n": 1}}


def run(*args: str | Path, **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(  # noqa: S603 - fixed commands on paths this test made
        [str(arg) for arg in args], capture_output=True, text=True, timeout=300, check=False, **kwargs
    )
    assert result.returncode == 0, f"{args} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, ROOT)
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    [path] = dist.glob("*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment (no site packages) with the wheel and its dependencies, nothing else."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    run(sys.executable, "-m", "venv", venv)
    run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel)
    return venv / "bin"


def test_twine_accepts_the_sdist_and_the_wheel(dist):
    assert sorted(path.suffix for path in dist.iterdir()) == [".gz", ".whl"]
    result = run(Path(sys.executable).with_name("twine"), "check", "--strict", *sorted(dist.iterdir()))
    assert result.stdout.count("PASSED") == 2


def test_the_wheel_carries_the_package_only(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    outside = [name for name in names if not name.startswith(("forwarder/", f"{DIST_INFO}/"))]
    assert outside == []
    assert [name for name in names if name.startswith("forwarder/") and not name.endswith(".py")] == []
    expected = {p.relative_to(ROOT / "src").as_posix() for p in (ROOT / "src" / "forwarder").rglob("*.py")}
    assert {name for name in names if name.startswith("forwarder/")} == expected
    assert f"{DIST_INFO}/licenses/LICENSE" in names
    metadata = zipfile.ZipFile(wheel).read(f"{DIST_INFO}/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata.splitlines()
    entry_points = zipfile.ZipFile(wheel).read(f"{DIST_INFO}/entry_points.txt").decode()
    assert "eventbridge-put-events = forwarder.command.cli:put_events_command" in entry_points
    assert "eventbridge-put-raw-events = forwarder.command.raw_cli:command" in entry_points


def test_the_sdist_has_no_tests_tools_or_bench(dist):
    [sdist] = dist.glob("*.tar.gz")
    top = f"eventbridge_forwarder-{PROJECT['version']}/"
    with tarfile.open(sdist) as archive:
        names = [name.removeprefix(top) for name in archive.getnames()]
    assert not [name for name in names if name.split("/")[0] in ("tests", "tools", "bench", "testing")]
    assert {"LICENSE", "README.md", "pyproject.toml", "src/forwarder/version.py"} <= set(names)


def clean_env(endpoint) -> dict[str, str]:
    """The suite's dummy credentials, and the fault endpoint as every service's endpoint."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["AWS_ENDPOINT_URL"] = endpoint.url
    return env


def test_the_installed_command_sends_through_the_fault_endpoint(installed, endpoint, tmp_path):
    assert run(installed / "eventbridge-put-events", "--version").stdout.split() == [
        "eventbridge-put-events", PROJECT["version"]
    ]
    entries = tmp_path / "entries.json"
    entries.write_text(json.dumps([ENTRY, {**ENTRY, "Detail": {"n": 2}}]))
    result = run(installed / "eventbridge-put-events", "--entries", f"file://{entries}", cwd=tmp_path,
                 env=clean_env(endpoint))
    assert json.loads(result.stdout)["FailedEntryCount"] == 0
    assert [json.loads(entry["Detail"]) for entry in endpoint.accepted()[-2:]] == [{"n": 1}, {"n": 2}]
    user_agent = endpoint.recent_signing()[-1]["request"]["headers"]["User-Agent"]
    assert f"app/eventbridge-forwarder#{PROJECT['version']}" in user_agent.split()


def test_the_installed_library_sends_through_the_fault_endpoint(installed, endpoint, tmp_path):
    script = (
        "import json, forwarder; from forwarder import put_events; "
        f"print(json.dumps([forwarder.__version__, forwarder.__file__, put_events([{ENTRY!r}])]))"
    )
    version, location, results = json.loads(
        run(installed / "python", "-c", script, cwd=tmp_path, env=clean_env(endpoint)).stdout
    )
    assert version == PROJECT["version"]  # from the package metadata: the wheel has no link to pyproject.toml
    assert "site-packages" in location and not Path(location).is_relative_to(ROOT)
    assert len(results) == 1 and "EventId" in results[0]
    assert endpoint.accepted()[-1]["Source"] == "packaged"


def test_the_wheel_depends_on_botocore_alone_and_the_function_s_dependencies_are_an_extra(wheel):
    metadata = zipfile.ZipFile(wheel).read(f"{DIST_INFO}/METADATA").decode().splitlines()
    requires = [line.removeprefix("Requires-Dist: ") for line in metadata if line.startswith("Requires-Dist: ")]
    assert [r for r in requires if "extra ==" not in r] == ["botocore>=1.44"]
    assert 'aws-lambda-powertools>=3.37; extra == "lambda"' in requires
    assert "Provides-Extra: lambda" in metadata


def test_the_installed_library_and_command_import_no_lambda_dependency(installed, tmp_path):
    """The wheel and its declared dependencies alone: Powertools is not even installed, and nothing asks for it."""
    check = ("import forwarder, sys; forwarder.put_events; forwarder.put_raw_events; "
             "import forwarder.command.cli, forwarder.command.raw_cli; "
             "assert not any(m.startswith(('aws_lambda_powertools', 'boto3')) for m in sys.modules), sys.modules")
    run(installed / "python", "-c", check, cwd=tmp_path)
    missing = subprocess.run([installed / "python", "-c", "import aws_lambda_powertools"],  # noqa: S603
                             capture_output=True, check=False, cwd=tmp_path)
    assert missing.returncode == 1 and b"ModuleNotFoundError" in missing.stderr


@pytest.mark.parametrize(
    "command", [["eventbridge-put-events"], ["python", "-m", "forwarder", "put-events"]], ids=" ".join
)
def test_the_installed_command_s_help_says_its_own_name_an_example_the_input_forms_and_the_exit_codes(
    installed, tmp_path, command
):
    name = " ".join(command) if command[0] != "python" else "python -m forwarder put-events"
    result = run(installed / command[0], *command[1:], "--help", cwd=tmp_path)
    text = result.stdout
    assert text.startswith(f"usage: {name} ")
    assert f"  {name} --entries file://events.json" in text  # the example
    assert all(form in text for form in ("file://PATH", "standard input", "the JSON itself"))
    assert all(f"\n  {code} " in text for code in ("0", "1", "2", "130"))
    other = "python -m forwarder" if command[0] == "eventbridge-put-events" else "eventbridge-put-events"
    assert other not in text


@pytest.mark.parametrize(
    "command", [["eventbridge-put-raw-events"], ["python", "-m", "forwarder", "put-raw-events"]], ids=" ".join
)
def test_the_installed_raw_command_s_help_says_its_own_name_an_example_the_input_forms_and_the_exit_codes(
    installed, tmp_path, command
):
    name = " ".join(command) if command[0] != "python" else "python -m forwarder put-raw-events"
    text = run(installed / command[0], *command[1:], "--help", cwd=tmp_path).stdout
    assert text.startswith(f"usage: {name} ")
    assert f"  {name} --event-bus-arn arn:aws:events:" in text and "--entries file://events.json" in text
    assert all(form in text for form in ("file://PATH", "standard input", "the JSON itself"))
    assert all(f"\n  {code} " in text for code in ("0", "1", "2", "130"))
    other = "python -m forwarder" if command[0] == "eventbridge-put-raw-events" else "eventbridge-put-raw-events"
    assert other not in text


def test_python_dash_m_forwarder_help_lists_every_command(installed, tmp_path):
    text = run(installed / "python", "-m", "forwarder", "--help", cwd=tmp_path).stdout
    assert all(f"    {name} " in text for name in ("put-events", "put-raw-events", "redrive"))


def test_the_lambda_extra_is_what_the_function_s_lock_is_made_from():
    """`eventbridge-forwarder[lambda]` and src/requirements.in (the lock's source, and so the SAM build's) name
    the same packages, Powertools among them."""
    lines = [line.split("#")[0].strip() for line in (ROOT / "src" / "requirements.in").read_text().splitlines()]
    assert sorted(PROJECT["optional-dependencies"]["lambda"]) == sorted(line for line in lines if line)
    assert "aws-lambda-powertools" in (ROOT / "src" / "requirements.txt").read_text()


def test_the_readme_s_install_from_a_clone_gives_the_command(tmp_path_factory, endpoint, tmp_path):
    """Nothing is published yet: the README's way (`pip install .` in a clone) is what a user can run today."""
    install = (ROOT / "README.md").read_text().split("## Install\n", 1)[1].split("\n## ", 1)[0]
    assert "\npip install .   " in install
    venv = tmp_path_factory.mktemp("clone-venv") / "env"
    run(sys.executable, "-m", "venv", venv)
    run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", ".", cwd=ROOT)
    result = run(venv / "bin" / "eventbridge-put-events", "--entries", json.dumps([ENTRY]), cwd=tmp_path,
                 env=clean_env(endpoint))
    assert json.loads(result.stdout)["FailedEntryCount"] == 0
