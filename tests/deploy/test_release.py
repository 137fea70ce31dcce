"""The Serverless Application Repository entry in template.yaml, read offline as `sam publish` reads it.

`sam publish` parses the template's `Metadata: AWS::ServerlessRepo::Application` with the serverlessrepo
library vendored in the SAM CLI, validates it and builds its CreateApplication request from it: the same
code runs here, in .venv-sam, and what it would send is held to pyproject.toml and to the service's limits
(the SAR API reference: CreateApplication). Publishing itself needs an account: `make publish`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parents[2]
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

# What `sam publish` does with the template before any request (samcli/commands/publish/command.py and the
# vendored serverlessrepo): parse it, take the application metadata, build the CreateApplication request
# (which validates Author, Description and Name), and validate the version a new application version needs.
PUBLISH_READER = """
import json, sys
from samcli.vendor.serverlessrepo.parser import get_app_metadata, parse_template
from samcli.vendor.serverlessrepo.publish import _create_application_request

with open(sys.argv[1], encoding="utf-8") as template:
    metadata = get_app_metadata(parse_template(template.read()))
request = _create_application_request(metadata, "<packaged template>")
metadata.validate(["semantic_version"])
print(json.dumps(request))
"""


def publish_request(template: Path) -> dict:
    if not SAM_PYTHON.exists():
        pytest.fail(f"{SAM_PYTHON} is missing: run `make sam-venv` (make test does)")
    result = subprocess.run(  # noqa: S603 - the SAM CLI's own interpreter, fixed arguments
        [str(SAM_PYTHON), "-c", PUBLISH_READER, str(template)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def request_body() -> dict:
    return publish_request(ROOT / "template.yaml")


def test_the_application_is_the_python_package_at_the_same_version(request_body):
    assert request_body["Name"] == PROJECT["name"]
    assert request_body["SemanticVersion"] == PROJECT["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", request_body["SemanticVersion"])  # SemVer, as SAR asks
    assert request_body["SpdxLicenseId"] == PROJECT["license"] == "Apache-2.0"
    assert request_body["SourceCodeUrl"] == request_body["HomePageUrl"] == PROJECT["urls"]["Source"]


def test_license_and_readme_are_the_packages_own_files(request_body):
    # Local paths, which `sam package` uploads to S3 and replaces with their s3:// URIs (test_deploy.py runs it).
    assert request_body["LicenseUrl"] in PROJECT["license-files"]
    assert request_body["ReadmeUrl"] == PROJECT["readme"]
    for name in (request_body["LicenseUrl"], request_body["ReadmeUrl"]):
        assert 0 < (ROOT / name).stat().st_size < 5 * 2**20  # SAR takes at most 5 MB
    assert "Apache License\n                           Version 2.0, January 2004" in (ROOT / "LICENSE").read_text()


def test_every_field_is_within_the_services_limits(request_body):
    assert re.fullmatch(r"[a-zA-Z0-9\-]{1,140}", request_body["Name"])
    assert re.fullmatch(r"[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?", request_body["Author"])
    assert len(request_body["Author"]) <= 127
    assert 1 <= len(request_body["Description"]) <= 256
    labels = request_body["Labels"]
    assert 1 <= len(labels) <= 10 and len(set(labels)) == len(labels)
    assert all(re.fullmatch(r"[a-zA-Z0-9+\-_:/@]{1,127}", label) for label in labels)


def test_the_reader_refuses_what_sam_publish_would_refuse(tmp_path):
    # The check has teeth: the same reader fails on an entry without an author, as `sam publish` would.
    broken = (ROOT / "template.yaml").read_text().replace("    Author: ", "    Owner: ", 1)
    (tmp_path / "template.yaml").write_text(broken)
    with pytest.raises(AssertionError, match="author properties not provided"):
        publish_request(tmp_path / "template.yaml")


@pytest.mark.package
@pytest.mark.parametrize("machine", ["aarch64", "x86_64"])  # the template's Architecture: arm64 (default), x86_64
def test_the_lock_holds_the_hash_of_every_wheel_the_bundle_is_built_from(tmp_path, machine):
    # `sam build` downloads the lock with pip for the build host (pip checks every hash), then fetches the
    # wheels for the function's architecture of what is not pure Python by name and version alone
    # (aws-lambda-builders' download_manylinux_wheels). The same download, with every hash required, shows
    # that the lock holds the hashes of exactly those files. Needs the pip cache or the package index.
    result = subprocess.run(  # noqa: S603 - pip, fixed arguments
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         "--platform", f"manylinux2014_{machine}", "--python-version", "3.13", "--implementation", "cp",
         "--abi", "cp313", "--require-hashes", "-r", str(ROOT / "src" / "requirements.txt"), "-d", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr
    wheels = sorted(path.name for path in tmp_path.iterdir())
    assert all(name.endswith(".whl") for name in wheels)
    assert [name for name in wheels if not name.endswith("-none-any.whl")] == [
        name for name in wheels if "manylinux" in name and name.endswith(f"_{machine}.whl")
    ]
    assert any(name.startswith("protobuf-") and name.endswith(f"_{machine}.whl") for name in wheels)
    assert any(name.startswith("orjson-") and "-cp313-" in name and name.endswith(f"_{machine}.whl") for name in wheels)


@pytest.mark.package
@pytest.mark.parametrize("tamper", ["none", "hash", "missing"])
def test_lock_check_fails_for_a_lock_with_a_wrong_hash_or_a_missing_package(tmp_path, tamper):
    # uv keeps the pins and the hashes of the file it writes: a wrong hash must show all the same.
    lock = (ROOT / "src" / "requirements.txt").read_text()
    first_hash = re.search(r"--hash=sha256:([0-9a-f]{64})", lock).group(1)
    lock = {"none": lock, "hash": lock.replace(first_hash, "0" * 64, 1),
            "missing": re.sub(r"^aws-kinesis-agg==.*?(?=^\S)", "", lock, count=1, flags=re.M | re.S)}[tamper]
    assert tamper == "none" or lock != (ROOT / "src" / "requirements.txt").read_text()
    (tmp_path / "requirements.txt").write_text(lock)
    result = subprocess.run(  # noqa: S603 - make, fixed arguments
        [shutil.which("make") or "make", "--no-print-directory", "-s", "lock-check",
         f"LOCK_FILE={tmp_path / 'requirements.txt'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert (result.returncode == 0) == (tamper == "none"), result.stderr
