"""Deployment with SAM, proven without an AWS account.

What is proven here, offline and on 127.0.0.1 only:

1. ``sam validate --lint`` accepts template.yaml.
2. The template, translated by the SAM translator, passes cfn-lint (which finds property errors that
   linting the SAM file misses), and its IAM role is least privilege: the role is the template's own (SAM's
   would carry AWSLambdaBasicExecutionRole, logs on every log group), logs only on the function's log group,
   each event source mapping's poller permissions on its own source; every statement is asserted, including
   the conditional ones for the DynamoDB stream, the large-payload bucket (s3:PutObject on its objects only)
   and the replica bus of a global endpoint; the function is given every setting it reads, or the test says
   why not (NOT_PASSED_ON).
3. ``sam build`` packages src/ and src/requirements.txt for python3.13 on arm64 without Docker, and builds the
   CRT layer (awscrt at the version botocore's [crt] extra pins) for arm64 too. The bundle holds the lock's
   packages only and knows its version (pyproject.toml's); ``sam package`` uploads it, the layer, the license
   and the README to moto's S3 and writes the template ``sam publish`` takes.
4. checkov passes; every skip in the template carries its reason.
5. A deployment rehearsal: the built code and layer go to moto's S3, the translated template (pointing at them)
   is created as a stack in moto's CloudFormation, and what it made is inspected: once with every optional
   stage on (Kinesis, DynamoDB Streams, global endpoint, created bucket), once FIFO on an existing bus and
   bucket with the optional stages off, and once for each alarm target (an e-mail address, an existing topic),
   where the one place that chooses the alarms' topic must name that topic.

What this cannot prove, and says so rather than passing silently: moto's CloudFormation has no
AWS::CloudWatch::Alarm and no AWS::S3::BucketPolicy, so the alarms (each reading its topic from that one
place) and the bucket's TLS-only policy are checked in the translated template, not deployed (the test fails
if the template gains any other type moto would skip); moto's Lambda drops the function's Architectures,
TracingConfig, LoggingConfig and Layers, and moto's S3 keeps only a created bucket's encryption (not its
public access block, ownership controls or lifecycle rule), and moto's IAM drops a role's ManagedPolicyArns:
those are checked in the translation instead. moto evaluates no template Rules, no AllowedPattern and no IAM
policy (so nothing here shows that AWS accepts the dynamodb:ListStreams scoping or that PutEvents through a
real global endpoint is allowed); nothing here runs the function in Lambda or signs with SigV4a.

The SAM CLI and checkov live in their own virtual environments (.venv-sam, .venv-checkov, built by
``make sam-venv checkov-venv``, which ``make test`` does first); they are called by path.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from forwarder.config.settings import ENVIRONMENT_VARIABLES
from forwarder_testing.local_aws import moto_server

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAM_BIN = ROOT / ".venv-sam" / "bin"
CHECKOV_BIN = ROOT / ".venv-checkov" / "bin"
REGION = "us-east-1"
XRAY_WRITE_ONLY = {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSXrayWriteOnlyAccess"}

# Resource types of the template that moto's CloudFormation does not implement: it skips them with a
# warning. They are left out of the rehearsal on purpose, and only these: the test below fails if the
# template gains another type moto skips, so nothing is dropped without this list saying so.
MOTO_SKIPS = {
    "AWS::CloudWatch::Alarm": "moto's CloudFormation implements no CloudWatch alarm (only dashboards); "
    "the alarms are checked in the translated template instead",
    "AWS::S3::BucketPolicy": "moto's CloudFormation implements no bucket policy; the TLS-only policy of the "
    "large-payload bucket is checked in the translated template instead",
    "AWS::Logs::QueryDefinition": "moto's CloudFormation implements no saved Logs Insights query; the queries are "
    "checked in the translated template (test_saved_queries_read_the_functions_log_group)",
    "AWS::Lambda::Alias": "moto's CloudFormation implements no Lambda alias (it publishes the version); the alias "
    "SnapStart's event sources invoke is checked in the translation (tests/deploy/test_snapstart_and_pollers.py)",
}

# moto's CloudFormation creates AWS::Lambda::Function from Code, Handler, Role, Runtime, Description,
# MemorySize, Timeout, VpcConfig, Environment and ReservedConcurrentExecutions only; it drops these (the
# deployed function reads x86_64, no tracing, default log group). They are asserted on the translated
# template (test_translation_turns_the_function_into_plain_cloudformation), not on the moto function.
MOTO_DROPS_FUNCTION_PROPERTIES = ("Architectures", "TracingConfig", "LoggingConfig", "Layers")

# moto's CloudFormation creates AWS::S3::Bucket from its name, BucketEncryption and Tags only; it drops these,
# asserted on the translated template instead (test_large_payload_bucket_is_private_encrypted_and_expiring).
MOTO_DROPS_BUCKET_PROPERTIES = ("PublicAccessBlockConfiguration", "OwnershipControls", "LifecycleConfiguration")

# Environment variables the function reads (src/forwarder/config/settings.py) that the template leaves at the code's
# default on purpose, each with its reason; every other one must be set by the template.
NOT_PASSED_ON = {
    "DEADLINE_MARGIN_MS": "time kept back from the invocation deadline to report; the default (1 s) suits "
    "every allowed FunctionTimeout, and a parameter for it would be one more knob to get wrong",
}


# Variables the template declares that the function does not read itself: botocore's endpoint override, empty
# when deployed, so that `sam local invoke --env-vars` can point the function at an emulator (SAM passes a
# container only the variables the template declares; docs/local-invoke.md).
FOR_LOCAL_RUNS = ("AWS_ENDPOINT_URL",)


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


def run(
    args: list[str], timeout: float = 180, env: dict[str, str] | None = None, **kwargs
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(  # noqa: S603 - our own tools, fixed arguments
        args, cwd=ROOT, env=env or tool_env(), capture_output=True, text=True, timeout=timeout, check=False, **kwargs
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


def zipped(source: Path, path: Path) -> Path:
    """`source`'s files in a zip at `path`, as `sam package` uploads a built resource."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(source.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(source).as_posix())
    return path


@pytest.fixture(scope="session")
def code_zip(build_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built function as the zip `sam package` would upload."""
    return zipped(build_dir / "ForwarderFunction", tmp_path_factory.mktemp("package") / "forwarder.zip")


@pytest.fixture(scope="session")
def layer_zip(build_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built CRT layer as the zip `sam package` would upload (its python/ folder at the root)."""
    return zipped(build_dir / "CrtLayer", tmp_path_factory.mktemp("package") / "crt-layer.zip")


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
    assert function["Architectures"] == [{"Ref": "Architecture"}]
    assert translated["Parameters"]["Architecture"]["Default"] == "arm64"
    assert translated["Parameters"]["Architecture"]["AllowedValues"] == ["arm64", "x86_64"]
    assert function["Handler"] == "forwarder.handler.lambda_handler"
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["LoggingConfig"] == {"LogGroup": {"Ref": "ForwarderLogGroup"}}
    # Every setting the function reads (less those excused below), and Powertools' own three.
    powertools = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}
    expected = set(ENVIRONMENT_VARIABLES) - set(NOT_PASSED_ON) | powertools | set(FOR_LOCAL_RUNS)
    assert set(function["Environment"]["Variables"]) == expected
    # Declared for `sam local` only: empty when deployed, which botocore takes as not set.
    assert {name: function["Environment"]["Variables"][name] for name in FOR_LOCAL_RUNS} == {"AWS_ENDPOINT_URL": ""}
    # The CRT layer, only with a global endpoint: the condition on the list's one item (AWS::NoValue drops it),
    # which SAM's local runner passes over, where it stops at a Fn::If in place of the list.
    [layer] = [n for n, r in translated["Resources"].items() if r["Type"] == "AWS::Lambda::LayerVersion"]
    assert function["Layers"] == [{"Fn::If": ["HasEventEndpoint", {"Ref": layer}, {"Ref": "AWS::NoValue"}]}]
    props = translated["Resources"][layer]["Properties"]
    assert translated["Resources"][layer]["Condition"] == "HasEventEndpoint"
    assert props["CompatibleRuntimes"] == ["python3.13"]
    assert props["CompatibleArchitectures"] == [{"Ref": "Architecture"}]
    assert translated["Resources"][layer]["DeletionPolicy"] == "Delete"


def test_template_passes_on_every_setting_the_function_reads(translated: dict) -> None:
    # ENVIRONMENT_VARIABLES is what Settings.from_env reads (tests/unit/test_settings.py holds the two together).
    read = set(ENVIRONMENT_VARIABLES)
    passed = set(translated["Resources"]["ForwarderFunction"]["Properties"]["Environment"]["Variables"])
    assert read - passed == set(NOT_PASSED_ON), "a setting the function reads is neither passed nor excused"
    assert not set(NOT_PASSED_ON) & passed


def test_every_parameter_is_in_one_console_group(translated: dict) -> None:
    groups = translated["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [name for group in groups for name in group["Parameters"]]
    assert sorted(grouped) == sorted(translated["Parameters"])  # each exactly once
    assert grouped == list(translated["Parameters"])  # and the Parameters section reads in the same order


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
    assert set(queues) == {
        "SourceQueue",
        "SourceDeadLetterQueue",
        "QuarantineQueue",
        "KinesisFailureQueue",
        "DynamoDBFailureQueue",
    }
    for name, props in queues.items():
        # SSE-SQS unless a customer managed key is given, then that key.
        no_value = {"Ref": "AWS::NoValue"}
        assert props["SqsManagedSseEnabled"] == {"Fn::If": ["UseQueueAndBucketKey", no_value, True]}, name
        key = {"Ref": "QueueAndBucketKmsKeyArn"}
        assert props["KmsMasterKeyId"] == {"Fn::If": ["UseQueueAndBucketKey", key, no_value]}, name


def role_statements(translated: dict) -> dict[str, tuple[str | None, dict]]:
    """Every statement of the function's inline policy by Sid, with the condition it depends on (or None)."""
    role = translated["Resources"]["ForwarderFunctionRole"]["Properties"]
    statements = {}
    for policy in role["Policies"]:
        for item in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in item:  # conditional statements: [condition, statement, AWS::NoValue]
                condition, statement, otherwise = item["Fn::If"]
                assert otherwise == {"Ref": "AWS::NoValue"}
            else:
                condition, statement = None, item
            statements[statement["Sid"]] = (condition, statement)
    return statements


def actions_of(statement: dict) -> list[str]:
    """Every action a statement may grant: both sides of a condition (EventPayload's) among them."""
    action = statement["Action"]
    if isinstance(action, dict) and "Fn::If" in action:
        return [granted for branch in action["Fn::If"][1:] for granted in actions_of({"Action": branch})]
    return action if isinstance(action, list) else [action]


def test_role_is_least_privilege(translated: dict) -> None:
    role = translated["Resources"]["ForwarderFunctionRole"]["Properties"]
    # X-Ray writes only (its actions take no resource); no managed policy that opens logs, SQS, Kinesis,
    # DynamoDB or S3 on "*" (test_function_writes_logs_only_to_its_own_log_group says why).
    assert role["ManagedPolicyArns"] == [XRAY_WRITE_ONLY]
    statements = role_statements(translated)
    assert all(s["Effect"] == "Allow" for _, s in statements.values())
    # No "*" anywhere, except in three ARNs each pinned exactly by its own test below: the region of the replica
    # bus, the labels of the one table's streams, the objects of the one large-payload bucket.
    wildcards = {"PutEventsOnReplicaBusThroughGlobalEndpoint", "ListDynamoDBTableStreams", "StoreLargePayloads"}
    others = [s["Resource"] for sid, (_, s) in statements.items() if sid not in wildcards]
    assert "*" not in json.dumps(others)
    by_action: dict[str, list[str]] = {}
    for sid, (_, statement) in statements.items():
        for action in actions_of(statement):
            by_action.setdefault(action, []).append(sid)
    target = statements["PutEventsOnTargetBusOnly"][1]["Resource"]["Fn::If"]
    assert target[:2] == ["UseCustomBus", {"Ref": "CustomEventBusArn"}]
    assert target[2]["Fn::If"][1] == {"Fn::GetAtt": ["EventBus", "Arn"]}
    assert sorted(by_action["sqs:SendMessage"]) == [
        "DynamoDBOnFailureDestination",
        "KinesisOnFailureDestination",
        "QuarantineRejectedRecords",
    ]
    assert statements["QuarantineRejectedRecords"][1]["Resource"] == {"Fn::GetAtt": ["QuarantineQueue", "Arn"]}
    assert by_action["sqs:ReceiveMessage"] == ["ReadSourceQueue"]
    assert by_action["kinesis:GetRecords"] == ["ReadKinesisStream"]


def test_function_writes_logs_only_to_its_own_log_group(translated: dict) -> None:
    # The role is the template's own: a role SAM generates always gets AWSLambdaBasicExecutionRole, which may
    # create log groups and write to every log group of the account.
    resources = translated["Resources"]
    roles = [name for name, r in resources.items() if r["Type"] == "AWS::IAM::Role"]
    assert roles == ["ForwarderFunctionRole"]
    function = resources["ForwarderFunction"]["Properties"]
    assert function["Role"] == {"Fn::GetAtt": ["ForwarderFunctionRole", "Arn"]}
    role = resources["ForwarderFunctionRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    # No managed policy but X-Ray's write-only one: none that grants logs on "*".
    assert role["ManagedPolicyArns"] == [XRAY_WRITE_ONLY]
    assert function["TracingConfig"] == {"Mode": "Active"}  # what that policy is for
    # logs: actions in one statement, always on, on the log group the function logs to, and no CreateLogGroup.
    statements = role_statements(translated)
    logs = {sid: cs for sid, cs in statements.items() if any(a.startswith("logs:") for a in actions_of(cs[1]))}
    assert set(logs) == {"WriteOwnLogGroupOnly"}
    condition, statement = logs["WriteOwnLogGroupOnly"]
    assert condition is None
    assert sorted(actions_of(statement)) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == {"Fn::GetAtt": ["ForwarderLogGroup", "Arn"]}
    assert function["LoggingConfig"] == {"LogGroup": {"Ref": "ForwarderLogGroup"}}


# What Lambda's event source mapping does with the function's role, per source (Lambda developer guide: the
# execution role permissions of each event source).
POLLER_ACTIONS = {
    "sqs": {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
    "kinesis": {"kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                "kinesis:GetShardIterator", "kinesis:ListShards"},
    "dynamodb": {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"},
}


def test_each_event_source_mapping_may_poll_its_own_source_and_send_to_its_failure_queue(translated: dict) -> None:
    statements = list(role_statements(translated).values())

    def granted(resource: dict, condition: str | None) -> set[str]:
        """Actions on exactly this resource, by statements that hold whenever the mapping exists."""
        return {a for c, s in statements if s["Resource"] == resource and c in (None, condition) for a in actions_of(s)}

    mappings = {n: r for n, r in translated["Resources"].items() if r["Type"] == "AWS::Lambda::EventSourceMapping"}
    kinds = {"SqsEventSourceMapping": "sqs", "KinesisEventSourceMapping": "kinesis",
             "DynamoDBEventSourceMapping": "dynamodb"}
    assert set(mappings) == set(kinds)
    for name, mapping in mappings.items():
        props, condition = mapping["Properties"], mapping.get("Condition")
        assert POLLER_ACTIONS[kinds[name]] <= granted(props["EventSourceArn"], condition), name
        destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination is not None:
            assert "sqs:SendMessage" in granted(destination, condition), name
    # DynamoDB's ListStreams names the table: see test_dynamodb_stream_read_is_scoped_to_the_one_stream.
    assert statements and ("HasDynamoDB", "dynamodb:ListStreams") in {
        (c, a) for c, s in statements for a in actions_of(s)
    }


def test_global_endpoint_adds_only_the_same_bus_name_in_other_regions(translated: dict) -> None:
    statements = role_statements(translated)
    putters = {sid: cs for sid, cs in statements.items() if "events:PutEvents" in actions_of(cs[1])}
    assert set(putters) == {"PutEventsOnTargetBusOnly", "PutEventsOnReplicaBusThroughGlobalEndpoint"}
    # Always: the one bus, in this region.
    condition, bus = putters["PutEventsOnTargetBusOnly"]
    assert condition is None
    classic = bus["Resource"]["Fn::If"][2]["Fn::If"]
    assert classic[0] == "CreateBus"
    by_arn = classic[2]["Fn::If"]  # a bus named by its ARN (TargetEventBusArn), else by its name
    assert by_arn[:2] == ["UseBusArn", {"Ref": "TargetEventBusArn"}]
    named = by_arn[2]["Fn::Sub"]
    assert named == "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}"
    # With an endpoint id only: the bus of the same name in the account, region left open (the endpoint's
    # secondary region is set on the endpoint, not in this stack), and nothing but PutEvents.
    condition, replica = putters["PutEventsOnReplicaBusThroughGlobalEndpoint"]
    assert condition == "HasEventEndpoint"
    assert actions_of(replica) == ["events:PutEvents"]
    pattern, names = replica["Resource"]["Fn::Sub"]
    assert pattern == "arn:${AWS::Partition}:events:*:${AWS::AccountId}:event-bus/${BusName}"
    bus_name = {"Fn::If": ["CreateBus", {"Fn::GetAtt": ["EventBus", "Name"]}, {"Ref": "EventBusName"}]}
    assert names == {"BusName": bus_name}
    env = translated["Resources"]["ForwarderFunction"]["Properties"]["Environment"]["Variables"]
    assert env["EVENT_ENDPOINT_ID"] == {"Ref": "EventEndpointId"}
    parameter = translated["Parameters"]["EventEndpointId"]
    assert parameter["Default"] == ""
    for value, ok in [("", True), ("abcde.veo", True), ("ab-c1.x-y", True), ("abcde", False), ("a.b.c", False)]:
        assert bool(re.fullmatch(parameter["AllowedPattern"], value)) is ok, value


def test_dynamodb_stream_read_is_scoped_to_the_one_stream(translated: dict) -> None:
    statements = role_statements(translated)
    dynamodb = {sid for sid, (_, s) in statements.items() for a in actions_of(s) if a.startswith("dynamodb:")}
    assert dynamodb == {"ReadDynamoDBStream", "ListDynamoDBTableStreams"}
    condition, read = statements["ReadDynamoDBStream"]
    assert condition == "HasDynamoDB"
    assert sorted(actions_of(read)) == ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    assert read["Resource"] == {"Ref": "DynamoDBStreamArn"}
    # ListStreams is asked with a table name, not a stream: the one table's streams, derived from the stream ARN.
    condition, listing = statements["ListDynamoDBTableStreams"]
    assert condition == "HasDynamoDB"
    assert actions_of(listing) == ["dynamodb:ListStreams"]
    assert listing["Resource"] == {
        "Fn::Sub": [
            "${TableArn}/stream/*",
            {"TableArn": {"Fn::Select": [0, {"Fn::Split": ["/stream/", {"Ref": "DynamoDBStreamArn"}]}]}},
        ]
    }
    condition, failure = statements["DynamoDBOnFailureDestination"]
    assert condition == "HasDynamoDB"
    assert (actions_of(failure), failure["Resource"]) == (
        ["sqs:SendMessage"],
        {"Fn::GetAtt": ["DynamoDBFailureQueue", "Arn"]},
    )
    pattern = translated["Parameters"]["DynamoDBStreamArn"]["AllowedPattern"]
    good = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-11-22T12:00:00.000"
    for value, ok in [("", True), (good, True), ("arn:aws:dynamodb:eu-west-1:123456789012:table/orders", False)]:
        assert bool(re.fullmatch(pattern, value)) is ok, value


def test_claim_check_may_only_put_objects_into_its_bucket(translated: dict) -> None:
    statements = role_statements(translated)
    s3 = {(sid, a) for sid, (_, s) in statements.items() for a in actions_of(s) if a.startswith("s3:")}
    assert s3 == {("StoreLargePayloads", "s3:PutObject")}  # no read, list or delete
    condition, store = statements["StoreLargePayloads"]
    assert condition == "HasLargePayloadBucket"
    # Objects of the created bucket, or of the named one; never the bucket itself or another.
    assert store["Resource"] == {
        "Fn::If": [
            "CreateLargePayloadBucket",
            {"Fn::Sub": "${LargePayloadStore.Arn}/*"},
            {"Fn::Sub": "arn:${AWS::Partition}:s3:::${LargePayloadBucket}/*"},
        ]
    }
    conditions = translated["Conditions"]
    # The claim check is on unless switched off; its bucket is the stack's own unless one is named.
    assert conditions["HasLargePayloadBucket"] == {"Fn::Equals": [{"Ref": "LargePayloadClaimCheck"}, "on"]}
    assert conditions["CreateLargePayloadBucket"] == {
        "Fn::And": [{"Condition": "HasLargePayloadBucket"}, {"Fn::Equals": [{"Ref": "LargePayloadBucket"}, ""]}]
    }
    env = translated["Resources"]["ForwarderFunction"]["Properties"]["Environment"]["Variables"]
    assert env["LARGE_PAYLOAD_BUCKET"] == {
        "Fn::If": [
            "CreateLargePayloadBucket",
            {"Ref": "LargePayloadStore"},
            {"Fn::If": ["HasLargePayloadBucket", {"Ref": "LargePayloadBucket"}, ""]},
        ]
    }
    assert translated["Parameters"]["LargePayloadClaimCheck"]["Default"] == "on"
    parameter = translated["Parameters"]["LargePayloadBucket"]
    assert parameter["Default"] == ""
    values = [("", True), ("my-bucket.data", True), ("Create", False), ("None", False), ("arn:aws:s3:::b", False)]
    for value, ok in values:
        assert bool(re.fullmatch(parameter["AllowedPattern"], value)) is ok, value
    # A bucket named while the claim check is off is refused, not silently ignored.
    rule = translated["Rules"]["ClaimCheckOffNamesNoBucket"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "LargePayloadClaimCheck"}, "off"]}
    assert [a["Assert"] for a in rule["Assertions"]] == [{"Fn::Equals": [{"Ref": "LargePayloadBucket"}, ""]}]


def test_large_payload_bucket_is_private_encrypted_and_expiring(translated: dict) -> None:
    resources = translated["Resources"]
    buckets = {n: r for n, r in resources.items() if r["Type"] == "AWS::S3::Bucket"}
    assert set(buckets) == {"LargePayloadStore"}
    bucket = buckets["LargePayloadStore"]
    assert bucket["Condition"] == "CreateLargePayloadBucket"
    props = bucket["Properties"]
    # SSE-S3, or SSE-KMS with the stack's queue key when one is given (the role may use that key). One whole
    # rule per branch: checkov cannot judge an SSEAlgorithm that is itself an Fn::If.
    [rule] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    with_key = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Ref": "QueueAndBucketKmsKeyArn"}}
    assert rule == {
        "Fn::If": [
            "UseQueueAndBucketKey",
            {"ServerSideEncryptionByDefault": with_key, "BucketKeyEnabled": True},
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}},
        ]
    }
    assert role_statements(translated)["UseQueueAndBucketKey"][1]["Resource"] == {"Ref": "QueueAndBucketKmsKeyArn"}
    assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert "VersioningConfiguration" not in props  # versioning off: objects are content-addressed
    [expiry] = props["LifecycleConfiguration"]["Rules"]
    assert expiry["Status"] == "Enabled"
    assert expiry["ExpirationInDays"] == {"Ref": "LargePayloadExpirationInDays"}
    assert expiry["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert translated["Parameters"]["LargePayloadExpirationInDays"]["MinValue"] >= 1
    # TLS only, for everyone, on the bucket and its objects.
    policy = resources["LargePayloadStorePolicy"]
    assert policy["Condition"] == "CreateLargePayloadBucket"
    assert policy["Properties"]["Bucket"] == {"Ref": "LargePayloadStore"}
    [deny] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "s3:*")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [{"Fn::GetAtt": ["LargePayloadStore", "Arn"]}, {"Fn::Sub": "${LargePayloadStore.Arn}/*"}]


def test_event_sources_report_partial_failures_and_streams_are_bounded(translated: dict) -> None:
    resources = translated["Resources"]
    sqs = resources["SqsEventSourceMapping"]["Properties"]
    assert sqs["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # in on-demand mode; provisioned mode (tests/deploy/test_snapstart_and_pollers.py) sends no ScalingConfig
    on_demand = {"MaximumConcurrency": {"Ref": "SqsMaximumConcurrency"}}
    assert sqs["ScalingConfig"] == {"Fn::If": ["SqsProvisioned", {"Ref": "AWS::NoValue"}, on_demand]}
    parameters = translated["Parameters"]
    for stage, condition in (("Kinesis", "HasKinesis"), ("DynamoDB", "HasDynamoDB")):
        mapping = resources[f"{stage}EventSourceMapping"]
        assert mapping["Condition"] == condition
        props = mapping["Properties"]
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"], stage
        assert props["BisectBatchOnFunctionError"] is True, stage
        assert props["DestinationConfig"] == {
            "OnFailure": {"Destination": {"Fn::GetAtt": [f"{stage}FailureQueue", "Arn"]}}
        }, stage
        settings = ("StartingPosition", "ParallelizationFactor", "MaximumRetryAttempts", "MaximumRecordAgeInSeconds")
        for setting in settings:
            assert props[setting] == {"Ref": f"{stage}{setting}"}, (stage, setting)
        assert parameters[f"{stage}MaximumRetryAttempts"]["MinValue"] >= 0  # -1 (forever) is not allowed
        assert parameters[f"{stage}MaximumRecordAgeInSeconds"]["MinValue"] >= 60
        assert parameters[f"{stage}StartingPosition"]["AllowedValues"] == ["LATEST", "TRIM_HORIZON"]
    # The two stream stages have the same shape.
    assert set(resources["KinesisEventSourceMapping"]["Properties"]) == set(
        resources["DynamoDBEventSourceMapping"]["Properties"]
    )
    # A DynamoDB stream keeps 24 hours of records.
    assert parameters["DynamoDBMaximumRecordAgeInSeconds"]["MaxValue"] == 86400


def test_alarms_cover_dlq_errors_and_stream_lag(translated: dict) -> None:
    alarms = {n: r for n, r in translated["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    by_metric = {
        # str(): the function's own namespace is a parameter ({"Ref": ...}), not a name
        (str(a["Properties"]["Namespace"]), a["Properties"]["MetricName"], n): a.get("Condition")
        for n, a in alarms.items()
    }
    dlq_key = ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "SourceDeadLetterQueueAlarm")
    assert by_metric[dlq_key] == "CreateSourceQueue"
    assert by_metric[("AWS/Lambda", "Errors", "FunctionErrorsAlarm")] is None
    assert by_metric[("AWS/Lambda", "IteratorAge", "KinesisIteratorAgeAlarm")] == "HasKinesis"
    assert by_metric[("AWS/Lambda", "IteratorAge", "DynamoDBIteratorAgeAlarm")] == "HasDynamoDB"
    assert by_metric[("AWS/SQS", "ApproximateNumberOfMessagesVisible", "DynamoDBFailureQueueAlarm")] == "HasDynamoDB"
    lag = alarms["DynamoDBIteratorAgeAlarm"]["Properties"]
    assert lag["Threshold"] == {"Ref": "DynamoDBIteratorAgeAlarmMilliseconds"}
    dlq = alarms["SourceDeadLetterQueueAlarm"]["Properties"]
    assert (dlq["Threshold"], dlq["ComparisonOperator"]) == (0, "GreaterThanThreshold")


def test_every_alarm_notifies_the_topic_chosen_in_one_place(translated: dict) -> None:
    resources = translated["Resources"]
    # GIVEN the one place that chooses where alarms notify: the existing topic, or else the one made for AlarmEmail
    choice = resources["AlarmNotificationTopic"]
    assert (choice["Type"], choice["Condition"]) == ("AWS::SSM::Parameter", "HasAlarmAction")
    existing_or_created = {"Fn::If": ["HasAlarmTopicArn", {"Ref": "AlarmTopicArn"}, {"Ref": "AlarmTopic"}]}
    assert choice["Properties"]["Value"] == existing_or_created
    assert resources["AlarmTopic"]["Condition"] == "CreateAlarmTopic"
    conditions = translated["Conditions"]
    either = {"Fn::Or": [{"Condition": "HasAlarmEmail"}, {"Condition": "HasAlarmTopicArn"}]}
    assert conditions["HasAlarmAction"] == either
    # THEN every alarm reads it back for both state changes, and has no actions without a target
    actions = {
        "Fn::If": ["HasAlarmAction", [{"Fn::GetAtt": ["AlarmNotificationTopic", "Value"]}], {"Ref": "AWS::NoValue"}]
    }
    alarms = {n: r["Properties"] for n, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert len(alarms) == 9
    for name, props in alarms.items():
        assert (props["AlarmActions"], props["OKActions"]) == (actions, actions), name
    # AND no other resource names either topic itself
    others = json.dumps({n: r for n, r in resources.items() if n != "AlarmNotificationTopic"})
    assert '{"Ref": "AlarmTopicArn"}' not in others and '{"Ref": "AlarmTopic"}' not in others


# Words that would be a second way of saying "off" or "not given" (the template's Parameters section says the one
# way: a switch is on or off; a name, ARN, id, path or address is empty when not given).
OTHER_OFF_WORDS = {"true", "false", "yes", "no", "none", "null", "create", "enabled", "disabled"}


def test_off_and_not_given_are_spelled_one_way_and_described(translated: dict) -> None:
    for name, parameter in translated["Parameters"].items():
        values = [str(v) for v in parameter.get("AllowedValues", [])] + [str(parameter.get("Default", ""))]
        assert not {v.lower() for v in values} & OTHER_OFF_WORDS, name
        description = parameter["Description"]
        default = parameter.get("Default")
        if default in ("on", "off"):  # a switch: exactly on and off, and both described
            assert parameter.get("AllowedValues", ["on", "off"]) == ["on", "off"], name
            other = "off" if default == "on" else "on"
            assert f"{default} (default)" in description and other in description, name
        elif parameter.get("Default") == "":  # a value that may be left out: what empty means is said
            assert "Empty (default)" in description, name


def test_every_switch_passed_to_the_function_reads_as_meant(translated: dict) -> None:
    # The template's switches are on/off: the function must read each value it may be handed as that switch.
    from forwarder.config.settings import Settings

    env = translated["Resources"]["ForwarderFunction"]["Properties"]["Environment"]["Variables"]
    parameters = translated["Parameters"]
    refs = {name: value["Ref"] for name, value in env.items() if isinstance(value, dict) and "Ref" in value}
    switches = {name for name, ref in refs.items() if parameters.get(ref, {}).get("Default") in ("on", "off")}
    assert switches == {"EVENT_GROUPS", "SNS_UNWRAP"}
    required = {"EVENT_SOURCE": "s", "EVENT_DETAIL_TYPE": "d"}
    for value, meant in (("on", True), ("off", False)):
        settings = Settings.from_env({**required, "EVENT_GROUPS": value, "SNS_UNWRAP": value})
        assert (settings.event_groups, settings.sns_unwrap) == (meant, meant), value


# ---------------------------------------------------------------------------------------------- 3. build


def test_sam_build_packages_code_and_pinned_dependencies_for_arm64(build_dir: Path) -> None:
    artifact = build_dir / "ForwarderFunction"
    assert (artifact / "forwarder" / "handler.py").is_file()
    pins = requirement_pins(ROOT / "src" / "requirements.txt")  # the lock: every package the bundle holds
    assert {"aws-lambda-powertools", "boto3", "botocore", "protobuf"} <= set(pins)
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
    # awscrt is the CRT layer's, never the function's: botocore would import it on every cold start.
    assert not list(artifact.glob("awscrt*")) and not list(artifact.glob("_awscrt*"))


def requirement_pins(path: Path) -> dict[str, str]:
    """`name==version` lines of a requirements file (a lock's `\\` continuations and --hash lines left out)."""
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return dict(line.removesuffix("\\").strip().split("==") for line in lines if "==" in line)


def test_the_built_function_knows_its_version_from_pyproject(build_dir: Path) -> None:
    # `sam build` installs the dependencies only: the bundle has no package metadata for the forwarder itself,
    # and reads its version from the copy of pyproject.toml that the link in the package became.
    artifact = build_dir / "ForwarderFunction"
    assert not list(artifact.glob("eventbridge_forwarder*"))  # and nothing but the lock's packages:
    dists = {path.name.split("-")[0].lower() for path in artifact.glob("*.dist-info")}
    assert dists == {name.replace("-", "_") for name in requirement_pins(ROOT / "src" / "requirements.txt")}
    bundled = artifact / "forwarder" / "_pyproject.toml"
    assert bundled.is_file() and not bundled.is_symlink()
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    probe = "import forwarder.net.clients as c, forwarder; print(forwarder.__version__, c.user_agent_appid())"
    result = subprocess.run(  # noqa: S603 - the bundle alone (-I: no site-packages, no user paths)
        [sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(artifact)!r}); {probe}"],
        capture_output=True, text=True, timeout=60, check=False, cwd=artifact,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [expected, f"eventbridge-forwarder#{expected}"]


def test_sam_package_makes_the_template_sam_publish_takes(build_dir: Path, moto_localhost: str, tmp_path: Path) -> None:
    # `make publish` without its last step: the built code, layer, license and README go to (moto's) S3 and the
    # packaged template names them by s3:// URI, which is what `sam publish` needs; then the SAM CLI's own
    # reader builds the request it would send (tests/deploy/test_release.py).
    from tests.deploy.test_release import publish_request

    s3_url = moto_localhost.replace("localhost", "127.0.0.1")
    s3 = boto3.client("s3", endpoint_url=s3_url, region_name=REGION)
    s3.create_bucket(Bucket="sar-artifacts")
    packaged = tmp_path / "packaged.yaml"
    run(
        [tool(SAM_BIN, "sam"), "package", "--template-file", str(build_dir / "template.yaml"), "--region", REGION,
         "--s3-bucket", "sar-artifacts", "--s3-prefix", "eventbridge-forwarder", "--output-template-file",
         str(packaged)],
        env=tool_env(AWS_ENDPOINT_URL_S3=s3_url), timeout=300,
    )
    request = publish_request(packaged)
    for field, source in (("LicenseUrl", ROOT / "LICENSE"), ("ReadmeUrl", ROOT / "README.md")):
        bucket, _, key = request[field].removeprefix("s3://").partition("/")
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == source.read_bytes(), field
    text = packaged.read_text()
    assert re.search(r"^      CodeUri: s3://sar-artifacts/eventbridge-forwarder/\w+$", text, re.M)
    assert re.search(r"^      ContentUri: s3://sar-artifacts/eventbridge-forwarder/\w+$", text, re.M)


def test_sam_build_builds_the_crt_layer_for_arm64_at_botocores_pin(build_dir: Path) -> None:
    # `sam build` builds every layer, whatever its Condition; the stack publishes it only with EventEndpointId.
    layer = build_dir / "CrtLayer" / "python"  # Lambda puts /opt/python on sys.path
    assert "ContentUri: CrtLayer" in (build_dir / "template.yaml").read_text()
    [pinned] = requirement_pins(ROOT / "layers" / "crt" / "requirements.txt").items()
    # The pin is the one the function's own botocore asks for in its [crt] extra.
    [botocore] = (build_dir / "ForwarderFunction").glob("botocore-*.dist-info")
    metadata = (botocore / "METADATA").read_text()
    extra = re.search(r"^Requires-Dist: awscrt ?\(?==([\w.]+)\)? ?; extra == .crt.", metadata, re.M)
    assert extra, f"{botocore.name} has no [crt] extra pinning awscrt"
    assert pinned == ("awscrt", extra.group(1))
    version = pinned[1]
    wheel = (layer / f"awscrt-{version}.dist-info" / "WHEEL").read_text()
    assert re.search(r"^Tag: cp3\d+-abi3-manylinux\S*_aarch64$", wheel, re.M), wheel
    [extension] = layer.glob("_awscrt*.so")
    header = extension.read_bytes()[:20]
    assert int.from_bytes(header[18:20], "little") == 183, f"{extension.name} is not an arm64 binary"
    assert (layer / "awscrt" / "auth.py").is_file()


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
    # The bucket's checks ran: encryption (19), no public ACL (20, 57), public access block (53 to 56).
    bucket_checks = {p["check_id"] for p in report["results"]["passed_checks"] if "LargePayloadStore" in p["resource"]}
    assert {"CKV_AWS_19", "CKV_AWS_20", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"} <= bucket_checks


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
    """The resources a stack with these condition values has; every condition a resource uses must be given."""
    active = {}
    for name, resource in template["Resources"].items():
        condition = resource.get("Condition")
        assert condition is None or condition in conditions, f"{name}: say whether {condition} holds"
        if condition is None or conditions[condition]:
            active[name] = resource["Type"]
    return active


def deploy(url: str, template: dict, artifacts: dict[str, Path], stack: str, parameters: dict[str, str]) -> dict:
    """What `sam deploy` does, against moto: upload code, layer and template to S3, create the stack, wait."""
    s3 = boto3.client("s3", endpoint_url=url, region_name=REGION)
    cfn = boto3.client("cloudformation", endpoint_url=url, region_name=REGION)
    bucket = f"{stack}-artifacts"
    s3.create_bucket(Bucket=bucket)
    for key, path in artifacts.items():
        s3.upload_file(str(path), bucket, key)
    template = copy.deepcopy(template)
    template["Resources"]["ForwarderFunction"]["Properties"]["Code"] = {"S3Bucket": bucket, "S3Key": "forwarder.zip"}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::LayerVersion":
            resource["Properties"]["Content"] = {"S3Bucket": bucket, "S3Key": "crt-layer.zip"}
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


def queue_arn(sqs, url: str) -> str:  # noqa: ANN001 - a boto3 client
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def test_default_stack_with_every_optional_stage_deploys_on_moto(
    moto_localhost: str, translated: dict, code_zip: Path, layer_zip: Path
) -> None:
    url = moto_localhost
    kinesis = boto3.client("kinesis", endpoint_url=url, region_name=REGION)
    kinesis.create_stream(StreamName="orders", ShardCount=1)
    stream_arn = kinesis.describe_stream_summary(StreamName="orders")["StreamDescriptionSummary"]["StreamARN"]
    dynamodb = boto3.client("dynamodb", endpoint_url=url, region_name=REGION)
    table = dynamodb.create_table(
        TableName="customers",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    table_stream_arn = table["TableDescription"]["LatestStreamArn"]

    # Every parameter at its default (so the large-payload bucket is created), except the optional stages
    # switched on: Kinesis, DynamoDB Streams and a global endpoint.
    stack = deploy(
        url,
        translated,
        {"forwarder.zip": code_zip, "crt-layer.zip": layer_zip},
        "forwarder",
        {"KinesisStreamArn": stream_arn, "DynamoDBStreamArn": table_stream_arn, "EventEndpointId": "abcde.veo"},
    )

    assert_deployed_exactly(
        stack,
        translated,
        {
            "CreateBus": True,
            "CreateSourceQueue": True,
            "CreateQuarantineQueue": True,
            "HasKinesis": True,
            "HasDynamoDB": True,
            "CreateLargePayloadBucket": True,
            "HasEventEndpoint": True,
            "CreateAlarmTopic": False,
            "HasAlarmAction": False,
            "CreateDashboard": True,
        },
    )
    out = stack["outputs"]
    assert set(out) == {
        "SourceQueueUrl",
        "SourceQueueArn",
        "DeadLetterQueueUrl",
        "QuarantineQueueUrl",
        "KinesisFailureQueueUrl",
        "DynamoDBFailureQueueUrl",
        "LargePayloadBucketName",
        "EventBusName",
        "EventBusArn",
        "FunctionName",
        "LogGroupName",
        "AlarmNotifications",
        "DashboardUrl",
    }
    assert out["AlarmNotifications"].startswith("NOBODY")  # no AlarmEmail, no AlarmTopicArn: said at deploy
    cloudwatch = boto3.client("cloudwatch", endpoint_url=url, region_name=REGION)
    dashboard = stack["resources"]["ForwarderDashboard"]["PhysicalResourceId"]
    assert out["DashboardUrl"].endswith(f"#dashboards/dashboard/{dashboard}")
    widgets = json.loads(cloudwatch.get_dashboard(DashboardName=dashboard)["DashboardBody"])["widgets"]
    assert any(w["type"] == "log" for w in widgets)  # the deployed body is JSON, its references resolved
    lam = boto3.client("lambda", endpoint_url=url, region_name=REGION)
    sqs = boto3.client("sqs", endpoint_url=url, region_name=REGION)
    s3 = boto3.client("s3", endpoint_url=url, region_name=REGION)
    events = boto3.client("events", endpoint_url=url, region_name=REGION)
    logs = boto3.client("logs", endpoint_url=url, region_name=REGION)

    # The bus, under the name the function is given.
    bus = events.describe_event_bus(Name=out["EventBusName"])
    assert bus["Arn"] == out["EventBusArn"]

    # The function, as configured.
    config = lam.get_function(FunctionName=out["FunctionName"])["Configuration"]
    assert (config["Runtime"], config["Handler"]) == ("python3.13", "forwarder.handler.lambda_handler")
    # Architectures, TracingConfig, LoggingConfig and Layers: see MOTO_DROPS_FUNCTION_PROPERTIES.
    for dropped in MOTO_DROPS_FUNCTION_PROPERTIES:
        assert dropped in translated["Resources"]["ForwarderFunction"]["Properties"]
    assert (config["MemorySize"], config["Timeout"]) == (256, 60)
    env = config["Environment"]["Variables"]
    assert env["EVENT_BUS_NAME"] == out["EventBusName"]
    assert env["POISON_QUEUE_URL"] == out["QuarantineQueueUrl"]
    assert (env["EVENT_SOURCE"], env["EVENT_DETAIL_TYPE"]) == ("custom.forwarder", "ForwardedRecord")
    assert (env["EVENT_ENDPOINT_ID"], env["LARGE_PAYLOAD_BUCKET"]) == ("abcde.veo", out["LargePayloadBucketName"])
    # str(): moto hands Number parameters on as integers, where Lambda stores strings.
    assert (str(env["PUT_EVENTS_MAX_BYTES"]), str(env["MAX_CONCURRENCY"]), str(env["MAX_ATTEMPTS"])) == (
        "1048576",
        "16",
        "6",
    )
    [log_group] = logs.describe_log_groups(logGroupNamePrefix=out["LogGroupName"])["logGroups"]
    assert log_group["retentionInDays"] == 30

    # The function's role: the stack's own, with logs on that log group alone (moto's CloudFormation drops a
    # role's ManagedPolicyArns: test_function_writes_logs_only_to_its_own_log_group checks them).
    iam = boto3.client("iam", endpoint_url=url, region_name=REGION)
    role_name = config["Role"].rsplit("/", 1)[1]
    assert role_name == stack["resources"]["ForwarderFunctionRole"]["PhysicalResourceId"]
    assert "ManagedPolicyArns" in translated["Resources"]["ForwarderFunctionRole"]["Properties"]
    [policy_name] = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    if isinstance(document, str):  # moto keeps the policy as the text of a Python dict, AWS::NoValue as None
        document = ast.literal_eval(document)
    logs_statements = [s for s in document["Statement"] if s and "logs:" in json.dumps(s["Action"])]
    # AWS writes a log group's ARN with a trailing ":*" (its streams), moto without.
    resources = [s["Resource"].removesuffix(":*") for s in logs_statements]
    assert resources == [log_group["arn"].removesuffix(":*")]

    # The CRT layer, published from the built arm64 package (moto does not attach it to the function).
    [layer_id] = [n for n, r in stack["resources"].items() if r["ResourceType"] == "AWS::Lambda::LayerVersion"]
    [layer] = lam.list_layers()["Layers"]
    assert layer["LayerName"].startswith(f"forwarder-{layer_id}")
    [listed_version] = lam.list_layer_versions(LayerName=layer["LayerName"])["LayerVersions"]
    version = lam.get_layer_version(LayerName=layer["LayerName"], VersionNumber=listed_version["Version"])
    assert version["CompatibleRuntimes"] == ["python3.13"]
    assert version["Content"]["CodeSize"] == layer_zip.stat().st_size

    # The large-payload bucket, encrypted with SSE-S3 (see MOTO_DROPS_BUCKET_PROPERTIES for what moto skips).
    encryption = s3.get_bucket_encryption(Bucket=out["LargePayloadBucketName"])["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    for dropped in MOTO_DROPS_BUCKET_PROPERTIES:
        assert dropped in translated["Resources"]["LargePayloadStore"]["Properties"]

    # The queues: visibility 6 x 60 s, redrive to the DLQ after 10 receives.
    attributes = sqs.get_queue_attributes(QueueUrl=out["SourceQueueUrl"], AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "360"
    assert attributes["QueueArn"] == out["SourceQueueArn"]
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": queue_arn(sqs, out["DeadLetterQueueUrl"]),
        "maxReceiveCount": 10,
    }
    queue_arn(sqs, out["QuarantineQueueUrl"])

    # The three event source mappings, with partial batch responses; both streams bounded, with their own
    # on-failure queue.
    listed = lam.list_event_source_mappings(FunctionName=out["FunctionName"])["EventSourceMappings"]
    mappings = {m["EventSourceArn"]: m for m in listed}
    assert set(mappings) == {out["SourceQueueArn"], stream_arn, table_stream_arn}
    sqs_mapping = mappings[out["SourceQueueArn"]]
    assert sqs_mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert sqs_mapping["BatchSize"] == 10
    for arn, failure_queue in ((stream_arn, "KinesisFailureQueueUrl"), (table_stream_arn, "DynamoDBFailureQueueUrl")):
        mapping = mappings[arn]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"], arn
        assert mapping["BisectBatchOnFunctionError"] is True, arn
        assert (mapping["MaximumRetryAttempts"], mapping["MaximumRecordAgeInSeconds"]) == (3, 3600), arn
        assert (mapping["StartingPosition"], mapping["ParallelizationFactor"], mapping["BatchSize"]) == (
            "LATEST",
            1,
            100,
        ), arn
        assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == queue_arn(sqs, out[failure_queue]), arn


def test_fifo_stack_on_an_existing_bus_and_bucket_without_quarantine_deploys_on_moto(
    moto_localhost: str, translated: dict, code_zip: Path
) -> None:
    url = moto_localhost
    events = boto3.client("events", endpoint_url=url, region_name=REGION)
    events.create_event_bus(Name="shared-bus")
    s3 = boto3.client("s3", endpoint_url=url, region_name=REGION)
    s3.create_bucket(Bucket="shared-claim-checks")

    stack = deploy(
        url,
        translated,
        {"forwarder.zip": code_zip},
        "forwarder-fifo",
        {
            "SourceQueueType": "fifo",
            "EventBusName": "shared-bus",
            "RejectedRecordQuarantine": "off",
            "LargePayloadBucket": "shared-claim-checks",
            "Dashboard": "off",
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
            "HasDynamoDB": False,
            "CreateLargePayloadBucket": False,
            "HasEventEndpoint": False,
            "CreateAlarmTopic": False,
            "HasAlarmAction": False,
            "CreateDashboard": False,
        },
    )
    out = stack["outputs"]
    assert out["EventBusName"] == "shared-bus"
    assert out["LargePayloadBucketName"] == "shared-claim-checks"
    assert out["SourceQueueUrl"].endswith("forwarder-fifo-source.fifo")
    sqs = boto3.client("sqs", endpoint_url=url, region_name=REGION)
    attributes = sqs.get_queue_attributes(QueueUrl=out["SourceQueueUrl"], AttributeNames=["All"])["Attributes"]
    assert attributes["FifoQueue"] == "true"
    assert json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"].endswith("forwarder-fifo-source-dlq.fifo")
    lam = boto3.client("lambda", endpoint_url=url, region_name=REGION)
    env = lam.get_function(FunctionName=out["FunctionName"])["Configuration"]["Environment"]["Variables"]
    assert (env["EVENT_BUS_NAME"], env["POISON_QUEUE_URL"]) == ("shared-bus", "")
    assert (env["LARGE_PAYLOAD_BUCKET"], env["EVENT_ENDPOINT_ID"]) == ("shared-claim-checks", "")
    [mapping] = lam.list_event_source_mappings(FunctionName=out["FunctionName"])["EventSourceMappings"]
    assert mapping["EventSourceArn"] == out["SourceQueueArn"]
    assert "MaximumBatchingWindowInSeconds" not in mapping or not mapping["MaximumBatchingWindowInSeconds"]


@pytest.mark.parametrize("target", ["AlarmEmail", "AlarmTopicArn"])
def test_alarm_target_resolves_to_the_one_chosen_topic_on_moto(
    moto_localhost: str, translated: dict, code_zip: Path, target: str
) -> None:
    # GIVEN an e-mail address (the stack makes a topic for it) or an existing topic as where alarms notify
    url = moto_localhost
    sns = boto3.client("sns", endpoint_url=url, region_name=REGION)
    existing = sns.create_topic(Name=f"oncall-{target.lower()}")["TopicArn"]
    value = {"AlarmEmail": "oncall@example.com", "AlarmTopicArn": existing}[target]
    stack_name = f"forwarder-{target.lower()}"
    stack = deploy(url, translated, {"forwarder.zip": code_zip}, stack_name, {target: value})

    # THEN the stack holds the choice once, and it names that topic: the created one, or the existing one alone
    created = target == "AlarmEmail"
    conditions = {
        "CreateBus": True,
        "CreateSourceQueue": True,
        "CreateQuarantineQueue": True,
        "HasKinesis": False,
        "HasDynamoDB": False,
        "CreateLargePayloadBucket": True,
        "HasEventEndpoint": False,
        "CreateAlarmTopic": created,
        "HasAlarmAction": True,
        "CreateDashboard": True,
    }
    assert_deployed_exactly(stack, translated, conditions)
    ssm = boto3.client("ssm", endpoint_url=url, region_name=REGION)
    name = stack["resources"]["AlarmNotificationTopic"]["PhysicalResourceId"]
    chosen = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    if created:
        assert chosen == stack["resources"]["AlarmTopic"]["PhysicalResourceId"]
        [subscription] = sns.list_subscriptions_by_topic(TopicArn=chosen)["Subscriptions"]
        assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "oncall@example.com")
    else:
        assert chosen == existing


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


def test_a_custom_event_bus_arn_is_the_only_bus_the_function_may_publish_to(translated: dict) -> None:
    # GIVEN CustomEventBusArn: the function is told the ARN and may publish to it alone
    env = translated["Resources"]["ForwarderFunction"]["Properties"]["Environment"]["Variables"]
    assert env["EVENT_BUS_NAME"]["Fn::If"][:2] == ["UseCustomBus", {"Ref": "CustomEventBusArn"}]
    resource = role_statements(translated)["PutEventsOnTargetBusOnly"][1]["Resource"]["Fn::If"]
    assert resource[:2] == ["UseCustomBus", {"Ref": "CustomEventBusArn"}]
    # AND no classic bus is created for nothing
    assert translated["Conditions"]["CreateBus"] == {
        "Fn::And": [{"Fn::Equals": [{"Ref": "EventBusName"}, ""]}, {"Fn::Not": [{"Condition": "UseCustomBus"}]},
                    {"Fn::Not": [{"Condition": "UseBusArn"}]}]
    }
    assert translated["Resources"]["EventBus"]["Condition"] == "CreateBus"
    pattern = translated["Parameters"]["CustomEventBusArn"]["AllowedPattern"]
    good = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"
    for value, ok in [("", True), (good, True), (good[:-1], False), (good.replace("busv2", "bus"), False)]:
        assert bool(re.fullmatch(pattern, value)) is ok, value
    # AND the settings pattern agrees with the function's own
    from forwarder.config.settings import CUSTOM_BUS_PATTERN

    assert CUSTOM_BUS_PATTERN.fullmatch(good)


def test_raw_payload_is_granted_put_raw_events_alone_and_only_on_a_custom_bus(translated: dict) -> None:
    # GIVEN EventPayload: the function is told the mode, and granted the one API that mode calls
    env = translated["Resources"]["ForwarderFunction"]["Properties"]["Environment"]["Variables"]
    assert env["EVENT_PAYLOAD"] == {"Ref": "EventPayload"}
    assert {env[name]["Ref"] for name in ("RAW_CONTENT_TYPE", "RAW_CONTENT_TYPE_PATH", "RAW_METADATA",
                                          "RAW_SCHEMA_REGISTRY_URI")} == {
        "RawContentType", "RawContentTypePath", "RawMetadata", "RawSchemaRegistryUri"}
    action = role_statements(translated)["PutEventsOnTargetBusOnly"][1]["Action"]
    assert action == {"Fn::If": ["IsRawPayload", "events:PutRawEvents", "events:PutEvents"]}
    assert translated["Conditions"]["IsRawPayload"] == {"Fn::Equals": [{"Ref": "EventPayload"}, "raw"]}
    # AND raw mode is refused at deploy without a Custom Event Bus, or with the parameters it does not read
    rules = translated["Rules"]
    assert rules["RawPayloadNeedsCustomBus"]["Assertions"][0]["Assert"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "CustomEventBusArn"}, ""]}]}
    assert rules["RawSettingsNeedRawPayload"]["RuleCondition"] == {"Fn::Equals": [{"Ref": "EventPayload"}, "json"]}
    # AND the content type pattern agrees with the model's (application/..., at most 256 characters)
    pattern = translated["Parameters"]["RawContentType"]["AllowedPattern"]
    from forwarder.entries.raw_format import content_type_problem

    for value in ("application/avro", "application/" + "x" * 244, "text/plain", "application/" + "x" * 245):
        assert bool(re.fullmatch(pattern, value)) is (content_type_problem(value) is None), value


def test_the_function_may_change_visibility_on_its_source_queue_only(translated: dict) -> None:
    # The visibility backoff calls ChangeMessageVisibilityBatch (IAM action sqs:ChangeMessageVisibility).
    statements = role_statements(translated)
    granted = [sid for sid, (_, s) in statements.items() if "sqs:ChangeMessageVisibility" in actions_of(s)]
    assert granted == ["ReadSourceQueue"]
    created, existing = {"Fn::GetAtt": ["SourceQueue", "Arn"]}, {"Ref": "ExistingSourceQueueArn"}
    source = {"Fn::If": ["CreateSourceQueue", created, existing]}
    assert statements["ReadSourceQueue"][1]["Resource"] == source
    env = translated["Resources"]["ForwarderFunction"]["Properties"]["Environment"]["Variables"]
    assert env["VISIBILITY_BACKOFF_MAX_SECONDS"] == {"Ref": "SqsVisibilityBackoffMaxSeconds"}
    from forwarder.config.settings import Settings

    parameters = translated["Parameters"]
    env = {"EVENT_SOURCE": "s", "EVENT_DETAIL_TYPE": "d",
           "VISIBILITY_BACKOFF_MAX_SECONDS": parameters["SqsVisibilityBackoffMaxSeconds"]["Default"],
           "VISIBILITY_BACKOFF_BASE_SECONDS": str(parameters["SqsVisibilityBackoffBaseSeconds"]["Default"])}
    assert Settings.from_env(env).visibility_backoff_max_seconds == 240
