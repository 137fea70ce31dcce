"""The template's SnapStart and SQS provisioned-mode options, proven offline like the rest of the template.

Both are off by default, and tests/deploy/test_deploy.py proves the default template. Here each is turned on:

1. ``sam validate --lint``, and cfn-lint on the translation, accept the template with each option on (the
   template's own parameter defaults flipped, so that SAM translates and cfn-lint evaluates that mode).
2. The translation holds what each mode needs: a version published behind the alias "live" with SnapStart
   applied only when on, and every event source mapping invoking that alias only when on; the SQS mapping
   sends either ScalingConfig (on-demand) or ProvisionedPollerConfig, never both.
3. The template's Rules, evaluated as CloudFormation evaluates them, refuse provisioned pollers combined with
   SqsMaximumConcurrency, and pollers given for on-demand mode.
4. A deployment rehearsal on moto with provisioned pollers on: the mapping gets the pollers and no maximum
   concurrency, and the version SnapStart would snapshot is published.

What this cannot prove: moto's CloudFormation makes no Lambda alias (it gives a reference to one an empty
value) and keeps no SnapStart setting, so a stack with SnapStart on is not rehearsed: its alias, ApplyOn and
the mappings naming the alias are checked in the translation (point 2), and a test fails once moto makes
aliases. Nothing here takes a snapshot or restores one (tests/integration/test_snapstart.py runs the
runtime hooks); moto evaluates no Rules (point 3 does); nothing shows that Lambda accepts the pollers for a
given account (provisioned mode has its own quotas and prices).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import boto3
import pytest

from tests.deploy.test_deploy import REGION, ROOT, SAM_BIN, TEMPLATE, deploy, run, tool
from tests.deploy.test_deploy import moto_localhost as moto_localhost  # fixtures, taken by name
from tests.deploy.test_deploy import translated as translated

pytestmark = pytest.mark.deploy

MAPPINGS = ("SqsEventSourceMapping", "KinesisEventSourceMapping", "DynamoDBEventSourceMapping")
MODES = {"snapstart": {"SnapStart": "on"}, "provisioned-pollers": {"SqsProvisionedMode": "on"}}


def with_defaults(path: Path, defaults: dict[str, str]) -> Path:
    """template.yaml with these parameters' defaults changed, written to `path`."""
    text = TEMPLATE.read_text()
    for name, value in defaults.items():
        text, count = re.subn(rf"(\n  {name}:\n    Type: \w+\n    Default: )[^\n]*", rf'\g<1>"{value}"', text)
        assert count == 1, name
    path.write_text(text)
    return path


@pytest.mark.parametrize("mode", MODES)
def test_sam_validate_lint_and_cfn_lint_accept_the_template_with_the_option_on(mode, tmp_path):
    template = with_defaults(tmp_path / "template.yaml", MODES[mode])
    result = run([tool(SAM_BIN, "sam"), "validate", "--lint", "--region", REGION, "--template-file", str(template)])
    assert "is a valid SAM Template" in result.stdout + result.stderr
    translation = tmp_path / "translated.json"
    run([tool(SAM_BIN, "python"), "tools/sam_translate.py", str(template), str(translation)])
    run([tool(SAM_BIN, "cfn-lint"), "--format", "parseable", str(translation)])


def test_snapstart_applies_to_the_published_version_the_event_sources_invoke_when_on(translated):
    resources = translated["Resources"]
    function = resources["ForwarderFunction"]["Properties"]
    assert function["Runtime"] == "python3.13"  # SnapStart: 3.12+
    assert function["Architectures"] == [{"Ref": "Architecture"}]
    assert function["SnapStart"] == {"ApplyOn": {"Fn::If": ["UseSnapStart", "PublishedVersions", "None"]}}
    assert translated["Conditions"]["UseSnapStart"] == {"Fn::Equals": [{"Ref": "SnapStart"}, "on"]}
    [version] = [name for name, r in resources.items() if r["Type"] == "AWS::Lambda::Version"]
    assert resources[version]["DeletionPolicy"] == "Delete"  # the replaced version goes, with its snapshot
    alias = resources["ForwarderFunctionAliaslive"]
    assert alias["Type"] == "AWS::Lambda::Alias"
    assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [version, "Version"]}
    for mapping in MAPPINGS:
        assert resources[mapping]["Properties"]["FunctionName"] == {
            "Fn::If": ["UseSnapStart", {"Ref": "ForwarderFunctionAliaslive"}, {"Ref": "ForwarderFunction"}]
        }, mapping


def test_a_new_version_follows_every_parameter_written_into_its_description(translated):
    # A new VersionDescription replaces the version (a new one is published): only parameters that change
    # the function's configuration, each a number or a word, so that the description stays within 256.
    [version] = [r for r in translated["Resources"].values() if r["Type"] == "AWS::Lambda::Version"]
    text = version["Properties"]["Description"]["Fn::Sub"]
    parameters = translated["Parameters"]
    named = re.findall(r"\$\{(\w+)\}", text)
    assert "SnapStart" in named and "FunctionMemorySize" in named
    longest = text
    for name in named:
        parameter = parameters[name]
        values = _longest_values(parameter)
        longest = longest.replace(f"${{{name}}}", max(values, key=len))
    assert len(longest) <= 256, longest
    function = translated["Resources"]["ForwarderFunction"]["Properties"]
    configured = str({k: function[k] for k in ("MemorySize", "Timeout", "Environment", "SnapStart", "Architectures")})
    for condition, definition in reversed(translated["Conditions"].items()):  # and what its conditions read
        if f"'{condition}'" in configured:
            configured += str(definition)
    for name in named:
        assert f"'Ref': '{name}'" in configured, f"{name} does not change the function's configuration"
    # and every parameter of the function short enough to be written there is: a published version
    # otherwise keeps the value of its first deployment (SAM hashes parameter references unresolved)
    short = {name for name, parameter in parameters.items()
             if f"'Ref': '{name}'" in configured and len(max(_longest_values(parameter), key=len)) <= 8}
    assert short - set(named) == set(), "these would not reach a published SnapStart version"


def _longest_values(parameter: dict) -> list[str]:
    """The values of a parameter as long as any it takes: its allowed ones, its maximum, or its MaxLength in x."""
    if "AllowedValues" in parameter:
        return [str(v) for v in parameter["AllowedValues"]]
    if "MaxValue" in parameter:
        return [str(parameter["MaxValue"])]
    return ["x" * int(parameter.get("MaxLength", 4096))]


def test_the_sqs_mapping_sends_concurrency_or_pollers_never_both(translated):
    sqs = translated["Resources"]["SqsEventSourceMapping"]["Properties"]
    no_value = {"Ref": "AWS::NoValue"}
    assert sqs["ScalingConfig"]["Fn::If"][:2] == ["SqsProvisioned", no_value]
    pollers = {"MinimumPollers": {"Ref": "SqsMinimumPollers"}, "MaximumPollers": {"Ref": "SqsMaximumPollers"}}
    assert sqs["ProvisionedPollerConfig"] == {"Fn::If": ["SqsProvisioned", pollers, no_value]}
    for mapping in MAPPINGS[1:]:  # provisioned mode here is for SQS; the streams keep their own scaling
        assert "ProvisionedPollerConfig" not in translated["Resources"][mapping]["Properties"]


def evaluate(expression, values: dict[str, str]):  # noqa: ANN001, ANN201 - a template expression
    """A Rules expression as CloudFormation evaluates it, parameters given as strings."""
    if not isinstance(expression, dict):
        return expression if isinstance(expression, list) else str(expression)
    [(function, arguments)] = expression.items()
    if function == "Ref":
        return values[arguments]
    parts = [evaluate(argument, values) for argument in arguments]
    if function == "Fn::Equals":
        return parts[0] == parts[1]
    if function == "Fn::Not":
        return not parts[0]
    if function == "Fn::And":
        return all(parts)
    if function == "Fn::Contains":
        return parts[1] in [str(item) for item in parts[0]]
    raise AssertionError(f"no evaluator for {function}")


def refused(translated: dict, **overrides: str) -> set[str]:
    """The Rules a stack with these parameter values breaks (the rest at their defaults)."""
    values = {name: str(p.get("Default", "")) for name, p in translated["Parameters"].items()} | overrides
    broken = set()
    for name, rule in translated["Rules"].items():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], values):
            continue
        if not all(evaluate(assertion["Assert"], values) for assertion in rule["Assertions"]):
            broken.add(name)
    return broken


def test_rules_refuse_pollers_with_maximum_concurrency_and_pollers_without_provisioned_mode(translated):
    assert refused(translated) == set()
    assert refused(translated, SqsProvisionedMode="on", SqsMinimumPollers="5", SqsMaximumPollers="50") == set()
    assert refused(translated, SqsProvisionedMode="on", SqsMaximumConcurrency="50") == {
        "ProvisionedPollersTakeNoMaximumConcurrency"
    }
    assert refused(translated, SqsMaximumPollers="50") == {"PollersNeedProvisionedMode"}
    assert refused(translated, SqsMinimumPollers="5") == {"PollersNeedProvisionedMode"}
    assert refused(translated, SourceQueueType="fifo", SqsBatchSize="11") == {"FifoBatchSizeAtMostTen"}  # the rest


@pytest.fixture(scope="module")
def source_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The function's code as a zip (moto stores it, never runs it; test_deploy.py proves the build)."""
    path = tmp_path_factory.mktemp("snapstart-package") / "forwarder.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted((ROOT / "src" / "forwarder").rglob("*.py")):
            archive.write(file, file.relative_to(ROOT / "src").as_posix())
    return path


def test_a_stack_with_provisioned_pollers_deploys_on_moto_and_publishes_the_version(
    moto_localhost, translated, source_zip
):
    parameters = {"SqsProvisionedMode": "on", "SqsMinimumPollers": "3", "SqsMaximumPollers": "40"}
    stack = deploy(moto_localhost, translated, {"forwarder.zip": source_zip}, "forwarder-pollers", parameters)
    versions = [r for r in stack["resources"].values() if r["ResourceType"] == "AWS::Lambda::Version"]
    assert [r["ResourceStatus"] for r in versions] == ["CREATE_COMPLETE"]
    lam = boto3.client("lambda", endpoint_url=moto_localhost, region_name=REGION)
    name = stack["outputs"]["FunctionName"]
    published = [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]]
    assert published[-1] != "$LATEST"  # a version was published for SnapStart to snapshot
    [mapping] = lam.list_event_source_mappings(EventSourceArn=stack["outputs"]["SourceQueueArn"])["EventSourceMappings"]
    assert mapping["ProvisionedPollerConfig"] == {"MinimumPollers": 3, "MaximumPollers": 40}
    assert not mapping.get("ScalingConfig")
    assert mapping["FunctionArn"].endswith(f":function:{name}")  # SnapStart off: the function itself


def test_moto_still_makes_no_lambda_alias_so_snapstart_on_is_not_rehearsed():
    # With SnapStart on the mappings invoke the alias, which moto's CloudFormation does not create (it would
    # hand the mappings an empty name). When this fails, moto makes aliases: rehearse SnapStart on as well.
    from moto.cloudformation.parsing import resource_class_from_type

    assert resource_class_from_type("AWS::Lambda::Alias") is None

