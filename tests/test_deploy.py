"""Deployment with SAM, proven without an AWS account.

What is proven here, offline and on 127.0.0.1 only:

1. ``sam validate --lint`` accepts template.yaml.
2. The template, translated by the SAM translator, passes cfn-lint (which finds property errors that
   linting the SAM file misses), and its IAM role is least privilege.
3. ``sam build`` packages src/ and src/requirements.txt for python3.13 on arm64 without Docker.
4. checkov passes; every skip in the template carries its reason.
5. A deployment rehearsal: the built code goes to moto's S3, the translated template (pointing at it) is
   created as a stack in moto's CloudFormation, and what it made is inspected.

What this cannot prove, and says so rather than passing silently: moto's CloudFormation has no
AWS::CloudWatch::Alarm, so the alarms are checked in the translated template, not deployed (the test fails
if the template gains any other type moto would skip); moto's Lambda drops the function's Architectures,
TracingConfig and LoggingConfig, checked in the translation instead; moto evaluates no template Rules and
no IAM policy; nothing here runs the function in Lambda.

The SAM CLI and checkov live in their own virtual environments (.venv-sam, .venv-checkov, built by
``make sam-venv checkov-venv``, which ``make test`` does first); they are called by path.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tools.local_aws import moto_server

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
SAM_BIN = ROOT / ".venv-sam" / "bin"
CHECKOV_BIN = ROOT / ".venv-checkov" / "bin"
REGION = "us-east-1"

# Resource types of the template that moto's CloudFormation does not implement: it skips them with a
# warning. They are left out of the rehearsal on purpose, and only these: the test below fails if the
# template gains another type moto skips, so nothing is dropped without this list saying so.
MOTO_SKIPS = {
    "AWS::CloudWatch::Alarm": "moto's CloudFormation implements no CloudWatch alarm (only dashboards); "
    "the alarms are checked in the translated template instead",
}

# moto's CloudFormation creates AWS::Lambda::Function from Code, Handler, Role, Runtime, Description,
# MemorySize, Timeout, VpcConfig, Environment and ReservedConcurrentExecutions only; it drops these (the
# deployed function reads x86_64, no tracing, default log group). They are asserted on the translated
# template (test_translation_turns_the_function_into_plain_cloudformation), not on the moto function.
MOTO_DROPS_FUNCTION_PROPERTIES = ("Architectures", "TracingConfig", "LoggingConfig")


def tool(venv_bin: Path, name: str) -> str:
    path = venv_bin / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make sam-venv checkov-venv` (make test does)")
    return str(path)


def python313_dir() -> str:
    """Directory of a real python3.13 (not a pyenv shim), which `sam build` looks for on PATH."""
    explicit = os.environ.get("PY313")
    if explicit:
        return str(Path(explicit).parent)
    return str(Path(sys.base_prefix) / "bin")  # .venv is made from the Makefile's $(PY313)


def tool_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - dummy
        SAM_CLI_TELEMETRY="0",
        BC_SKIP_MAPPING="TRUE",
        PATH=python313_dir() + os.pathsep + os.environ.get("PATH", ""),
    )
    env.update(extra)
    return env


def run(args: list[str], timeout: float = 180, **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(  # noqa: S603 - our own tools, fixed arguments
        args, cwd=ROOT, env=tool_env(), capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )
    assert result.returncode == 0, f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def translated(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """template.yaml translated to plain CloudFormation (CodeUri replaced with an S3 placeholder)."""
    out = tmp_path_factory.mktemp("translated") / "template.json"
    run([tool(SAM_BIN, "python"), "tools/sam_translate.py", str(TEMPLATE), str(out)])
    return json.loads(out.read_text())


@pytest.fixture(scope="session")
def translated_file(translated: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("translated-file") / "template.json"
    path.write_text(json.dumps(translated, indent=1))
    return path


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`sam build` once per session (about 20 s: it resolves arm64 wheels from the package index)."""
    out = tmp_path_factory.mktemp("sam-build") / "build"
    run(
        [tool(SAM_BIN, "sam"), "build", "--template-file", str(TEMPLATE), "--build-dir", str(out), "--region", REGION],
        timeout=300,
    )
    return out


@pytest.fixture(scope="session")
def code_zip(build_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built function as the zip `sam package` would upload."""
    path = tmp_path_factory.mktemp("package") / "forwarder.zip"
    source = build_dir / "ForwarderFunction"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(source.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(source).as_posix())
    return path


@pytest.fixture(scope="module")
def moto_localhost() -> Iterator[str]:
    """moto bound to 127.0.0.1, addressed as localhost: its CloudFormation accepts template URLs on localhost."""
    with moto_server(host="127.0.0.1") as url:
        yield url.replace("127.0.0.1", "localhost")


# ---------------------------------------------------------------------------------------------- 1. lint


def test_sam_validate_lint() -> None:
    result = run([tool(SAM_BIN, "sam"), "validate", "--lint", "--region", REGION, "--template-file", str(TEMPLATE)])
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_translated_template_passes_cfn_lint(translated_file: Path) -> None:
    run([tool(SAM_BIN, "cfn-lint"), "--format", "parseable", str(translated_file)])


# ---------------------------------------------------------------------------------------------- 2. shape


def test_translation_turns_the_function_into_plain_cloudformation(translated: dict) -> None:
    types = {name: r["Type"] for name, r in translated["Resources"].items()}
    assert not [t for t in types.values() if t.startswith("AWS::Serverless::")]
    function = translated["Resources"]["ForwarderFunction"]["Properties"]
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert function["Handler"] == "forwarder.handler.lambda_handler"
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["LoggingConfig"] == {"LogGroup": {"Ref": "ForwarderLogGroup"}}
    assert set(function["Environment"]["Variables"]) == {
        "EVENT_BUS_NAME",
        "EVENT_SOURCE",
        "EVENT_DETAIL_TYPE",
        "EVENT_DETAIL_TYPE_PATH",
        "EVENT_SOURCE_PATH",
        "PUT_EVENTS_MAX_BYTES",
        "MAX_CONCURRENCY",
        "POISON_QUEUE_URL",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_LOG_LEVEL",
    }


def test_visibility_timeout_is_six_times_every_allowed_function_timeout(translated: dict) -> None:
    allowed = translated["Parameters"]["FunctionTimeout"]["AllowedValues"]
    mapping = translated["Mappings"]["VisibilityTimeoutForFunctionTimeout"]
    assert {str(v) for v in allowed} == set(mapping)
    for timeout in allowed:
        assert mapping[str(timeout)]["Seconds"] == 6 * int(timeout)
    queue = translated["Resources"]["SourceQueue"]["Properties"]
    assert queue["VisibilityTimeout"] == {
        "Fn::FindInMap": ["VisibilityTimeoutForFunctionTimeout", {"Ref": "FunctionTimeout"}, "Seconds"]
    }


def test_every_queue_is_encrypted_at_rest(translated: dict) -> None:
    queues = {n: r["Properties"] for n, r in translated["Resources"].items() if r["Type"] == "AWS::SQS::Queue"}
    assert set(queues) == {"SourceQueue", "SourceDeadLetterQueue", "QuarantineQueue", "KinesisFailureQueue"}
    for name, props in queues.items():
        # SSE-SQS unless a customer managed key is given, then that key.
        assert props["SqsManagedSseEnabled"] == {"Fn::If": ["UseQueueCmk", {"Ref": "AWS::NoValue"}, True]}, name
        no_value = {"Ref": "AWS::NoValue"}
        assert props["KmsMasterKeyId"] == {"Fn::If": ["UseQueueCmk", {"Ref": "QueueKmsKeyArn"}, no_value]}, name


def test_role_is_least_privilege(translated: dict) -> None:
    role = translated["Resources"]["ForwarderFunctionRole"]["Properties"]
    # Logs and X-Ray only; no managed policy that opens SQS or Kinesis on "*".
    assert role["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    ]
    statements = {}
    for policy in role["Policies"]:
        for item in policy["PolicyDocument"]["Statement"]:
            statement = item["Fn::If"][1] if "Fn::If" in item else item  # conditional statements
            statements[statement["Sid"]] = statement
    assert "*" not in json.dumps([s["Resource"] for s in statements.values()])
    by_action: dict[str, list[str]] = {}
    for sid, statement in statements.items():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            by_action.setdefault(action, []).append(sid)
    assert by_action["events:PutEvents"] == ["PutEventsOnTargetBusOnly"]
    assert statements["PutEventsOnTargetBusOnly"]["Resource"]["Fn::If"][1] == {"Fn::GetAtt": ["EventBus", "Arn"]}
    assert sorted(by_action["sqs:SendMessage"]) == ["KinesisOnFailureDestination", "QuarantineRejectedRecords"]
    assert statements["QuarantineRejectedRecords"]["Resource"] == {"Fn::GetAtt": ["QuarantineQueue", "Arn"]}
    assert by_action["sqs:ReceiveMessage"] == ["ReadSourceQueue"]
    assert by_action["kinesis:GetRecords"] == ["ReadKinesisStream"]


def test_event_sources_report_partial_failures_and_kinesis_is_bounded(translated: dict) -> None:
    resources = translated["Resources"]
    sqs = resources["SqsEventSourceMapping"]["Properties"]
    assert sqs["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert sqs["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "SqsMaximumConcurrency"}}
    kinesis = resources["KinesisEventSourceMapping"]
    assert kinesis["Condition"] == "HasKinesis"
    props = kinesis["Properties"]
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert props["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": ["KinesisFailureQueue", "Arn"]}}}
    parameters = translated["Parameters"]
    assert parameters["KinesisMaximumRetryAttempts"]["MinValue"] >= 0  # -1 (forever) is not allowed
    assert parameters["KinesisMaximumRecordAgeInSeconds"]["MinValue"] >= 60


def test_alarms_cover_dlq_errors_and_kinesis_lag(translated: dict) -> None:
    alarms = {n: r for n, r in translated["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    by_metric = {
        (a["Properties"]["Namespace"], a["Properties"]["MetricName"], n): a.get("Condition") for n, a in alarms.items()
    }
    dlq_key = ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "SourceDeadLetterQueueAlarm")
    assert by_metric[dlq_key] == "CreateSourceQueue"
    assert by_metric[("AWS/Lambda", "Errors", "FunctionErrorsAlarm")] is None
    assert by_metric[("AWS/Lambda", "IteratorAge", "KinesisIteratorAgeAlarm")] == "HasKinesis"
    dlq = alarms["SourceDeadLetterQueueAlarm"]["Properties"]
    assert (dlq["Threshold"], dlq["ComparisonOperator"]) == (0, "GreaterThanThreshold")


# ---------------------------------------------------------------------------------------------- 3. build


def test_sam_build_packages_code_and_pinned_dependencies_for_arm64(build_dir: Path) -> None:
    artifact = build_dir / "ForwarderFunction"
    assert (artifact / "forwarder" / "handler.py").is_file()
    pins = dict(
        line.split("==")
        for line in (ROOT / "src" / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    for package, version in pins.items():
        dist = package.replace("-", "_")
        assert (artifact / f"{dist}-{version}.dist-info").is_dir(), f"{package}=={version} not in the build"
    assert (artifact / "aws_lambda_powertools").is_dir()
    # Any compiled extension must be for arm64 (ELF machine 183 = AArch64), never the build host's x86-64.
    for shared in artifact.rglob("*.so"):
        header = shared.read_bytes()[:20]
        assert int.from_bytes(header[18:20], "little") == 183, f"{shared} is not an arm64 binary"
    built = (build_dir / "template.yaml").read_text()
    assert "CodeUri: ForwarderFunction" in built


# ---------------------------------------------------------------------------------------------- 4. checkov


def checkov_report(target: Path, *extra: str) -> dict:
    result = subprocess.run(  # noqa: S603 - our own tool
        [
            tool(CHECKOV_BIN, "checkov"),
            "--file",
            str(target),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--output",
            "json",
            *extra,
        ],
        cwd=ROOT,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    return report


def template_skips() -> dict[str, str]:
    skips = re.findall(r"#\s*checkov:skip=(CKV2?_AWS_\d+):(.*)", TEMPLATE.read_text())
    return dict(skips)


def test_checkov_passes_and_every_skip_is_justified() -> None:
    skips = template_skips()
    for check, reason in skips.items():
        assert len(reason.strip()) > 30, f"{check} is skipped without a real reason"
    report = checkov_report(TEMPLATE)
    failed = report["results"]["failed_checks"]
    assert not failed, [(f["check_id"], f["resource"]) for f in failed]
    assert report["summary"]["passed"] > 0
    assert {s["check_id"] for s in report["results"]["skipped_checks"]} == set(skips)


def test_checkov_passes_on_the_translated_template_with_the_same_skips(translated_file: Path) -> None:
    # The translation shows checkov what SAM generates (the IAM role); comments do not survive it, so the
    # template's own skips are passed on the command line, and nothing else.
    report = checkov_report(translated_file, "--skip-check", ",".join(sorted(template_skips())))
    failed = report["results"]["failed_checks"]
    assert not failed, [(f["check_id"], f["resource"]) for f in failed]
    passed = {p["check_id"] for p in report["results"]["passed_checks"]}
    assert {"CKV_AWS_60", "CKV_AWS_61", "CKV_AWS_62", "CKV_AWS_63"} <= passed  # IAM checks ran on the role


# ---------------------------------------------------------------------------------------------- 5. rehearsal


def active_resources(template: dict, conditions: dict[str, bool]) -> dict[str, str]:
    return {
        name: r["Type"] for name, r in template["Resources"].items() if conditions.get(r.get("Condition", ""), True)
    }


def deploy(url: str, template: dict, code_zip: Path, stack: str, parameters: dict[str, str]) -> dict:
    """What `sam deploy` does, against moto: upload code and template to S3, create the stack, wait."""
    s3 = boto3.client("s3", endpoint_url=url, region_name=REGION)
    cfn = boto3.client("cloudformation", endpoint_url=url, region_name=REGION)
    bucket = f"{stack}-artifacts"
    s3.create_bucket(Bucket=bucket)
    s3.upload_file(str(code_zip), bucket, "forwarder.zip")
    template = copy.deepcopy(template)
    template["Resources"]["ForwarderFunction"]["Properties"]["Code"] = {"S3Bucket": bucket, "S3Key": "forwarder.zip"}
    s3.put_object(Bucket=bucket, Key="template.json", Body=json.dumps(template).encode())
    cfn.create_stack(
        StackName=stack,
        TemplateURL=f"{url}/{bucket}/template.json",
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    deadline = time.monotonic() + 60
    while True:
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        if not described["StackStatus"].endswith("IN_PROGRESS") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert described["StackStatus"] == "CREATE_COMPLETE", described.get("StackStatusReason")
    # moto lists every resource it did not create (condition false, or type unsupported) as a blank summary.
    described["resources"] = {
        r["LogicalResourceId"]: r
        for r in cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
        if r["LogicalResourceId"]
    }
    described["outputs"] = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    return described


def assert_deployed_exactly(stack: dict, template: dict, conditions: dict[str, bool]) -> None:
    from moto.cloudformation.parsing import resource_class_from_type

    expected = active_resources(template, conditions)
    unsupported = {t for t in expected.values() if resource_class_from_type(t) is None}
    assert unsupported <= set(MOTO_SKIPS), f"moto would silently skip {unsupported - set(MOTO_SKIPS)}"
    deployed = {name: r["ResourceType"] for name, r in stack["resources"].items()}
    assert deployed == {n: t for n, t in expected.items() if t not in MOTO_SKIPS}
    assert all(r["ResourceStatus"] == "CREATE_COMPLETE" for r in stack["resources"].values())


def test_default_stack_with_kinesis_stage_deploys_on_moto(
    moto_localhost: str, translated: dict, code_zip: Path
) -> None:
    url = moto_localhost
    kinesis = boto3.client("kinesis", endpoint_url=url, region_name=REGION)
    kinesis.create_stream(StreamName="orders", ShardCount=1)
    stream_arn = kinesis.describe_stream_summary(StreamName="orders")["StreamDescriptionSummary"]["StreamARN"]

    # Every parameter at its default, except the Kinesis stage switched on.
    stack = deploy(url, translated, code_zip, "forwarder", {"KinesisStreamArn": stream_arn})

    assert_deployed_exactly(
        stack,
        translated,
        {
            "CreateBus": True,
            "CreateSourceQueue": True,
            "CreateQuarantineQueue": True,
            "HasKinesis": True,
            "CreateAlarmTopic": False,
        },
    )
    out = stack["outputs"]
    assert set(out) == {
        "SourceQueueUrl",
        "SourceQueueArn",
        "DeadLetterQueueUrl",
        "QuarantineQueueUrl",
        "KinesisFailureQueueUrl",
        "EventBusName",
        "EventBusArn",
        "FunctionName",
        "LogGroupName",
    }
    lam = boto3.client("lambda", endpoint_url=url, region_name=REGION)
    sqs = boto3.client("sqs", endpoint_url=url, region_name=REGION)
    events = boto3.client("events", endpoint_url=url, region_name=REGION)
    logs = boto3.client("logs", endpoint_url=url, region_name=REGION)

    # The bus, under the name the function is given.
    bus = events.describe_event_bus(Name=out["EventBusName"])
    assert bus["Arn"] == out["EventBusArn"]

    # The function, as configured.
    config = lam.get_function(FunctionName=out["FunctionName"])["Configuration"]
    assert (config["Runtime"], config["Handler"]) == ("python3.13", "forwarder.handler.lambda_handler")
    # Architectures, TracingConfig and LoggingConfig: see MOTO_DROPS_FUNCTION_PROPERTIES.
    for dropped in MOTO_DROPS_FUNCTION_PROPERTIES:
        assert dropped in translated["Resources"]["ForwarderFunction"]["Properties"]
    assert (config["MemorySize"], config["Timeout"]) == (256, 60)
    env = config["Environment"]["Variables"]
    assert env["EVENT_BUS_NAME"] == out["EventBusName"]
    assert env["POISON_QUEUE_URL"] == out["QuarantineQueueUrl"]
    assert (env["EVENT_SOURCE"], env["EVENT_DETAIL_TYPE"]) == ("custom.forwarder", "ForwardedRecord")
    # str(): moto hands Number parameters on as integers, where Lambda stores strings.
    assert (str(env["PUT_EVENTS_MAX_BYTES"]), str(env["MAX_CONCURRENCY"])) == ("1048576", "16")
    assert logs.describe_log_groups(logGroupNamePrefix=out["LogGroupName"])["logGroups"][0]["retentionInDays"] == 30

    # The queues: visibility 6 x 60 s, redrive to the DLQ after 5 receives.
    attributes = sqs.get_queue_attributes(QueueUrl=out["SourceQueueUrl"], AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "360"
    assert attributes["QueueArn"] == out["SourceQueueArn"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=out["DeadLetterQueueUrl"], AttributeNames=["QueueArn"])
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"],
        "maxReceiveCount": 5,
    }
    for queue in ("QuarantineQueueUrl", "KinesisFailureQueueUrl"):
        assert sqs.get_queue_attributes(QueueUrl=out[queue], AttributeNames=["QueueArn"])["Attributes"]

    # Both event source mappings, with partial batch responses.
    listed = lam.list_event_source_mappings(FunctionName=out["FunctionName"])["EventSourceMappings"]
    mappings = {m["EventSourceArn"]: m for m in listed}
    assert set(mappings) == {out["SourceQueueArn"], stream_arn}
    sqs_mapping, kinesis_mapping = mappings[out["SourceQueueArn"]], mappings[stream_arn]
    assert sqs_mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert sqs_mapping["BatchSize"] == 10
    assert kinesis_mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert kinesis_mapping["BisectBatchOnFunctionError"] is True
    assert kinesis_mapping["MaximumRetryAttempts"] == 3
    assert kinesis_mapping["MaximumRecordAgeInSeconds"] == 3600
    assert kinesis_mapping["StartingPosition"] == "LATEST"
    failure_arn = sqs.get_queue_attributes(QueueUrl=out["KinesisFailureQueueUrl"], AttributeNames=["QueueArn"])
    assert kinesis_mapping["DestinationConfig"]["OnFailure"]["Destination"] == failure_arn["Attributes"]["QueueArn"]


def test_fifo_stack_on_an_existing_bus_without_quarantine_deploys_on_moto(
    moto_localhost: str, translated: dict, code_zip: Path
) -> None:
    url = moto_localhost
    events = boto3.client("events", endpoint_url=url, region_name=REGION)
    events.create_event_bus(Name="shared-bus")

    stack = deploy(
        url,
        translated,
        code_zip,
        "forwarder-fifo",
        {
            "SourceQueueType": "fifo",
            "EventBusName": "shared-bus",
            "EnableQuarantineQueue": "false",
        },
    )

    assert_deployed_exactly(
        stack,
        translated,
        {
            "CreateBus": False,
            "CreateSourceQueue": True,
            "CreateQuarantineQueue": False,
            "HasKinesis": False,
            "CreateAlarmTopic": False,
        },
    )
    out = stack["outputs"]
    assert out["EventBusName"] == "shared-bus"
    assert out["SourceQueueUrl"].endswith("forwarder-fifo-source.fifo")
    sqs = boto3.client("sqs", endpoint_url=url, region_name=REGION)
    attributes = sqs.get_queue_attributes(QueueUrl=out["SourceQueueUrl"], AttributeNames=["All"])["Attributes"]
    assert attributes["FifoQueue"] == "true"
    assert json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"].endswith("forwarder-fifo-source-dlq.fifo")
    lam = boto3.client("lambda", endpoint_url=url, region_name=REGION)
    env = lam.get_function(FunctionName=out["FunctionName"])["Configuration"]["Environment"]["Variables"]
    assert (env["EVENT_BUS_NAME"], env["POISON_QUEUE_URL"]) == ("shared-bus", "")
    [mapping] = lam.list_event_source_mappings(FunctionName=out["FunctionName"])["EventSourceMappings"]
    assert mapping["EventSourceArn"] == out["SourceQueueArn"]
    assert "MaximumBatchingWindowInSeconds" not in mapping or not mapping["MaximumBatchingWindowInSeconds"]


def test_sam_cli_environment_is_kept_apart_from_the_project() -> None:
    # The function ships boto3 from src/requirements.txt; the SAM CLI pins its own: two environments.
    assert shutil.which("sam", path=str(SAM_BIN)) is not None
    assert not (ROOT / ".venv" / "bin" / "sam").exists()


def test_samconfig_environments_name_only_real_parameters(translated: dict) -> None:
    import tomllib

    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert config["version"] == 0.1
    parameters = translated["Parameters"]
    for environment in ("default", "production"):
        deploy_settings = config[environment]["deploy"]["parameters"]
        assert deploy_settings["capabilities"] == "CAPABILITY_IAM"
        assert deploy_settings["resolve_s3"] is True
        assert config[environment]["global"]["parameters"]["stack_name"]
        for override in deploy_settings["parameter_overrides"]:
            name, value = override.split("=", 1)
            assert name in parameters, f"{environment}: {name} is not a template parameter"
            allowed = parameters[name].get("AllowedValues")
            assert allowed is None or value in [str(v) for v in allowed], f"{environment}: {override}"
