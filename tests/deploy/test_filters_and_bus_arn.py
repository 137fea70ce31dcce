"""The event source mappings' FilterCriteria and a bus named by its ARN (another account or region), in the
template: linted, translated, checked and deployed on moto with values set, the helpers of test_deploy.py.

The values given are the parameters' defaults in a copy of template.yaml (so `sam validate --lint` and cfn-lint,
which read defaults, see them and check each against its AllowedPattern), and the parameters of a rehearsal
stack. What moto cannot show: that Lambda filters (moto keeps FilterCriteria but applies no filter), and that
the bus's own resource policy lets this role put events (docs/deploy.md says what it must say).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import boto3
import pytest

from forwarder.config.settings import Settings
from tests.deploy.test_deploy import (
    REGION,
    SAM_BIN,
    TEMPLATE,
    deploy,
    role_statements,
    run,
    tool,
    translated,  # noqa: F401 - a fixture
    zipped,
)

pytestmark = pytest.mark.deploy

FOREIGN_BUS = "arn:aws:events:eu-west-1:210987654321:event-bus/central"
FILTERS = {
    "SqsFilterPattern": '{"body": {"type": ["order"]}}',
    "KinesisFilterPattern": '{"data": {"amount": [{"numeric": [">", 0]}]}}',
    "DynamoDBFilterPattern": '{"eventName": ["INSERT", "MODIFY"]}',
}
MAPPINGS = {
    "SqsFilterPattern": ("SqsEventSourceMapping", "HasSqsFilter"),
    "KinesisFilterPattern": ("KinesisEventSourceMapping", "HasKinesisFilter"),
    "DynamoDBFilterPattern": ("DynamoDBEventSourceMapping", "HasDynamoDBFilter"),
}


def with_defaults(values: dict[str, str]) -> str:
    """template.yaml with these parameters' empty defaults replaced by the values (as YAML strings)."""
    text = TEMPLATE.read_text()
    for name, value in values.items():
        declaration = f'  {name}:\n    Type: String\n    Default: ""\n'
        assert text.count(declaration) == 1, name
        text = text.replace(declaration, f"  {name}:\n    Type: String\n    Default: {json.dumps(value)}\n")
    return text


@pytest.fixture(scope="module")
def variant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the template whose defaults set every filter and a foreign bus ARN."""
    path = tmp_path_factory.mktemp("variant") / "template.yaml"
    path.write_text(with_defaults(FILTERS | {"TargetEventBusArn": FOREIGN_BUS}))
    return path


def test_sam_validate_lint_accepts_filters_and_a_bus_arn(variant: Path) -> None:
    result = run([tool(SAM_BIN, "sam"), "validate", "--lint", "--region", REGION, "--template-file", str(variant)])
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_cfn_lint_accepts_the_translation_with_filters_and_a_bus_arn(variant: Path, tmp_path: Path) -> None:
    out = tmp_path / "translated.json"
    run([tool(SAM_BIN, "python"), "tools/sam_translate.py", str(variant), str(out)])
    defaults = {name: json.loads(out.read_text())["Parameters"][name]["Default"] for name in FILTERS}
    assert defaults == FILTERS  # the translation kept the values cfn-lint is about to check
    run([tool(SAM_BIN, "cfn-lint"), "--format", "parseable", str(out)])


def test_each_mapping_gets_its_filter_only_when_one_is_given(translated: dict) -> None:  # noqa: F811
    for parameter, (mapping, condition) in MAPPINGS.items():
        assert translated["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, ""]}]}
        criteria = translated["Resources"][mapping]["Properties"]["FilterCriteria"]
        assert criteria == {"Fn::If": [condition, {"Filters": [{"Pattern": {"Ref": parameter}}]},
                                       {"Ref": "AWS::NoValue"}]}
        pattern = translated["Parameters"][parameter]["AllowedPattern"]
        assert translated["Parameters"][parameter]["MaxLength"] == 4096  # Lambda's limit for one pattern
        for value, ok in [("", True), (FILTERS[parameter], True), ('{\n "a": [1]\n}', True), ("[1]", False),
                          ("body.type = order", False)]:
            assert bool(re.fullmatch(pattern, value)) is ok, (parameter, value)


def test_a_bus_arn_is_the_only_bus_the_function_may_publish_to(translated: dict) -> None:  # noqa: F811
    # The grant: the ARN alone, when TargetEventBusArn is given (and no bus is created then)
    resource = role_statements(translated)["PutEventsOnTargetBusOnly"][1]["Resource"]["Fn::If"][2]["Fn::If"]
    assert resource[0] == "CreateBus"
    assert resource[2]["Fn::If"][:2] == ["UseBusArn", {"Ref": "TargetEventBusArn"}]
    assert {"Fn::Not": [{"Condition": "UseBusArn"}]} in translated["Conditions"]["CreateBus"]["Fn::And"]
    # The parameter takes classic bus ARNs of any account, region and partition, and nothing else
    pattern = translated["Parameters"]["TargetEventBusArn"]["AllowedPattern"]
    custom = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"
    for value, ok in [("", True), (FOREIGN_BUS, True), ("arn:aws-cn:events:cn-north-1:123456789012:event-bus/b", True),
                      ("central", False), (custom, False), (FOREIGN_BUS.replace("210987654321", "2109"), False)]:
        assert bool(re.fullmatch(pattern, value)) is ok, value
        if ok and value:  # and what it accepts, the function reads as that bus in its region
            assert Settings.from_env({"EVENT_SOURCE": "s", "EVENT_DETAIL_TYPE": "t",
                                      "EVENT_BUS_NAME": value}).bus_region == value.split(":")[3]
    # A rule keeps it the one bus: no name, Custom Event Bus or global endpoint beside it
    rule = translated["Rules"]["BusArnIsTheOnlyBus"]
    assert rule["RuleCondition"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "TargetEventBusArn"}, ""]}]}
    asserted = {json.dumps(check) for check in rule["Assertions"][0]["Assert"]["Fn::And"]}
    assert asserted == {json.dumps({"Fn::Equals": [{"Ref": name}, ""]})
                        for name in ("EventBusName", "CustomEventBusArn", "EventEndpointId")}


def test_a_stack_with_filters_and_a_foreign_bus_deploys_on_moto(translated: dict, tmp_path: Path) -> None:  # noqa: F811
    from forwarder_testing.local_aws import moto_server

    with moto_server(host="127.0.0.1") as bound:
        url = bound.replace("127.0.0.1", "localhost")  # moto's CloudFormation takes template URLs on localhost
        kinesis = boto3.client("kinesis", endpoint_url=url, region_name=REGION)
        kinesis.create_stream(StreamName="orders", ShardCount=1)
        stream = kinesis.describe_stream_summary(StreamName="orders")["StreamDescriptionSummary"]["StreamARN"]
        dynamodb = boto3.client("dynamodb", endpoint_url=url, region_name=REGION)
        table = dynamodb.create_table(
            TableName="customers", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        code = zipped(Path(TEMPLATE.parent, "src", "forwarder"), tmp_path / "forwarder.zip")  # not run by moto
        parameters = FILTERS | {"TargetEventBusArn": FOREIGN_BUS, "KinesisStreamArn": stream,
                                "DynamoDBStreamArn": table["LatestStreamArn"]}
        stack = deploy(url, translated, {"forwarder.zip": code}, "forwarder-filters", parameters)

        assert "EventBus" not in stack["resources"]  # no bus of its own: the foreign one is the target
        assert stack["outputs"]["EventBusArn"] == stack["outputs"]["EventBusName"] == FOREIGN_BUS
        lam = boto3.client("lambda", endpoint_url=url, region_name=REGION)
        function = stack["outputs"]["FunctionName"]
        env = lam.get_function(FunctionName=function)["Configuration"]["Environment"]["Variables"]
        assert env["EVENT_BUS_NAME"] == FOREIGN_BUS
        mappings = lam.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]
        patterns = {mapping["EventSourceArn"].split(":")[2]: mapping["FilterCriteria"] for mapping in mappings}
        assert patterns == {
            "sqs": {"Filters": [{"Pattern": FILTERS["SqsFilterPattern"]}]},
            "kinesis": {"Filters": [{"Pattern": FILTERS["KinesisFilterPattern"]}]},
            "dynamodb": {"Filters": [{"Pattern": FILTERS["DynamoDBFilterPattern"]}]},
        }
        iam = boto3.client("iam", endpoint_url=url, region_name=REGION)
        role = stack["resources"]["ForwarderFunctionRole"]["PhysicalResourceId"]
        document = iam.get_role_policy(RoleName=role, PolicyName="forward-records")["PolicyDocument"]
        if isinstance(document, str):  # moto keeps the policy as the text of a Python dict, AWS::NoValue as None
            document = ast.literal_eval(document)
        grants = [s["Resource"] for s in document["Statement"] if s and "events:PutEvents" in json.dumps(s["Action"])]
        assert grants == [FOREIGN_BUS]
