"""The shipped template under the real `sam local` in Docker, against moto on the Docker bridge address.

The engine, the base image (AWS's, or the stand-in built once) and `sam build` are set up once per session
by the same code as `make sam-local-invoke` (tools/sam_local/). Where the Docker engine cannot be had (not
root, no package archive, dockerd refusing to start), every test here fails saying why, unless
SAM_LOCAL_TESTS=skip is set: then they are skipped, visibly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from forwarder_testing.events import item_ids
from forwarder_testing.local_aws import drain, moto_server, reset
from tests.conftest import EVENTS
from tools.sam_local.base_image import machine_arch
from tools.sam_local.command import SAM, SamLocal, invoke, invoke_through_start_lambda, prepare_docker, sam_build
from tools.sam_local.emulator import LocalAws, prepare, write_env_vars
from tools.sam_local.engine import EngineUnavailable

# The first test also waits for what the session sets up once: on a fresh machine Debian's docker.io (about
# a minute), the stand-in image (about 1.5 minutes) and `sam build`; past pytest-timeout's 300 s on a slow day.
pytestmark = [pytest.mark.integration, pytest.mark.sam_local, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ARCH = os.environ.get("ARCH") or machine_arch()
# Entries on the bus per sample, where it is not one per record (a KPL aggregate of three user records and a
# plain one), and the records quarantined (data that is not base64) -- as tests/integration/test_events.py.
ON_BUS = {"kinesis-kpl": 4, "kinesis-poison": 2}
QUARANTINED = {"kinesis-poison": 1}


@pytest.fixture(scope="session")
def built_template() -> tuple[str, Path]:
    """The engine, the base image and `sam build`, once: the bridge address and the built template."""
    if os.environ.get("SAM_LOCAL_TESTS") == "skip":
        pytest.skip("SAM_LOCAL_TESTS=skip: the sam local tests are left out on purpose")
    if not SAM.exists():
        pytest.fail(f"{SAM} is missing: run `make sam-venv` (make test does)")
    try:
        bridge = prepare_docker(ARCH, os.environ.get("LAMBDA_BASE_IMAGE", "auto"))
        return bridge, sam_build(ARCH, REGION)
    except EngineUnavailable as error:
        pytest.fail(
            f"sam local cannot run on this machine: {error}\n(set SAM_LOCAL_TESTS=skip to leave these tests out)"
        )


@pytest.fixture(scope="module")
def moto_on_bridge(built_template: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    bridge, _ = built_template
    with moto_server(host=bridge, log=tmp_path_factory.mktemp("moto") / "moto.log") as url:
        yield url


@pytest.fixture
def local_aws(moto_on_bridge: str) -> LocalAws:
    reset(moto_on_bridge)
    return prepare(moto_on_bridge, REGION, "forwarder-local-bus")


# The function's names for its events, whatever the suite's environment says (SAM hands the container the
# caller's value of a variable the template declares, unless the --env-vars file gives one).
NAMES = {"EVENT_SOURCE": "local.invoke", "EVENT_DETAIL_TYPE": "LocalInvoke"}


def sam_local(built_template: tuple[str, Path], aws: LocalAws, tmp_path: Path, **overrides: str) -> SamLocal:
    env_vars = write_env_vars(tmp_path / "env.json", aws.function_environment({**NAMES, **overrides}))
    return SamLocal(built_template[1], ARCH, env_vars, REGION, local_url=aws.url)




@pytest.mark.parametrize("path", sorted(EVENTS.glob("*.json")), ids=lambda p: p.stem)
def test_every_sample_goes_through_sam_local_invoke_to_the_bus(path, built_template, local_aws, tmp_path):
    # GIVEN a sample event, the built template and moto with the bus, its tap and the quarantine queue
    event = json.loads(path.read_text())
    # WHEN sam local invoke runs the function in its container
    answer = json.loads(invoke(path, sam_local(built_template, local_aws, tmp_path)))
    # THEN every record is confirmed on the bus or quarantined, and none is reported
    assert answer == {"batchItemFailures": []}, answer
    reached = local_aws.tap.drain(settle_s=2.0)
    assert len(reached) == ON_BUS.get(path.stem, len(event["Records"])), reached
    assert {item["source"] for item in reached} == {"local.invoke"}
    assert {item["detail-type"] for item in reached} == {"LocalInvoke"}
    quarantined = drain(local_aws.clients["sqs"], local_aws.quarantine_url)
    assert len(quarantined) == QUARANTINED.get(path.stem, 0)


def test_a_bus_that_does_not_exist_reports_every_record(built_template, moto_on_bridge, tmp_path):
    # GIVEN a bus name moto has no bus for
    reset(moto_on_bridge)
    aws = prepare(moto_on_bridge, REGION, "no-such-bus", tap=False)
    event_file = EVENTS / "sqs.json"
    # WHEN the function runs
    answer = json.loads(invoke(event_file, sam_local(built_template, aws, tmp_path)))
    # THEN every record is reported for redelivery, none quarantined
    reported = [failure["itemIdentifier"] for failure in answer["batchItemFailures"]]
    assert sorted(reported) == sorted(item_ids(json.loads(event_file.read_text())))
    assert drain(aws.clients["sqs"], aws.quarantine_url) == []


def test_a_bad_setting_is_the_init_error_naming_it(built_template, local_aws, tmp_path):
    # GIVEN EVENT_SOURCE set but empty
    run = sam_local(built_template, local_aws, tmp_path, EVENT_SOURCE="")
    # WHEN sam local invoke runs the function
    answer = json.loads(invoke(EVENTS / "sqs.json", run))
    # THEN the answer is the cold start's error, naming the variable, and nothing reached the bus
    assert answer["errorType"] == "ConfigurationError", answer
    assert "EVENT_SOURCE" in answer["errorMessage"]
    assert local_aws.tap.drain(settle_s=0.5) == []


def test_start_lambda_answers_boto3s_lambda_client(built_template, local_aws, tmp_path):
    # GIVEN sam local start-lambda on 127.0.0.1
    # WHEN boto3's Lambda client invokes the function with the SQS sample
    answer = json.loads(
        invoke_through_start_lambda(EVENTS / "sqs.json", sam_local(built_template, local_aws, tmp_path))
    )
    # THEN it answers the partial batch response, and the three events are on the bus
    assert answer == {"batchItemFailures": []}
    assert len(local_aws.tap.drain(settle_s=2.0)) == 3


def test_sam_local_tests_skip_visibly_only_when_asked(tmp_path):
    # GIVEN SAM_LOCAL_TESTS=skip (a machine where Docker cannot run, said so explicitly)
    env = {**os.environ, "SAM_LOCAL_TESTS": "skip"}
    # WHEN these tests run there
    result = subprocess.run(  # noqa: S603 - our own interpreter running pytest on this file
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            __file__,
            "-k",
            "sqs-trace or bad_setting",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # THEN they are reported as skipped, with the reason, and none ran
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 skipped" in result.stdout and "SAM_LOCAL_TESTS=skip" in result.stdout, result.stdout
