"""SAM's local runner reads the shipped template's function with every parameter set the deploy tests use.

`sam local invoke` and `start-lambda` resolve the template with the SAM CLI's own providers (in .venv-sam)
before they start a container; what they cannot read stops them there (a Fn::If in place of the Layers list
did: "Fn::If is an Invalid Layer Arn"). This reads the function as they do, without Docker; the runs in
Docker are tests/integration/test_sam_local.py.
"""

from __future__ import annotations

import json

import pytest

from tests.deploy.test_deploy import SAM_BIN, TEMPLATE, run, tool

pytestmark = pytest.mark.deploy

# The parameter sets of the deployment rehearsals (tests/deploy/), and the other architecture.
PARAMETER_SETS = {
    "defaults": {},
    "every-optional-stage": {
        "KinesisStreamArn": "arn:aws:kinesis:us-east-1:123456789012:stream/orders",
        "DynamoDBStreamArn": "arn:aws:dynamodb:us-east-1:123456789012:table/customers/stream/2026-01-01T00:00:00.000",
        "EventEndpointId": "abcde.veo",
    },
    "fifo-existing-bus-and-bucket": {
        "SourceQueueType": "fifo",
        "EventBusName": "shared-bus",
        "RejectedRecordQuarantine": "off",
        "LargePayloadBucket": "shared-claim-checks",
    },
    "alarm-email": {"AlarmEmail": "oncall@example.com"},
    "foreign-bus-with-filters": {
        "TargetEventBusArn": "arn:aws:events:eu-west-1:210987654321:event-bus/central",
        "SqsFilterPattern": '{"body": {"type": ["order"]}}',
    },
    "custom-bus": {
        "CustomEventBusArn": "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"
    },
    "provisioned-pollers-snapstart": {"SqsProvisionedMode": "on", "SqsMinimumPollers": "3", "SnapStart": "on"},
    "x86_64": {"Architecture": "x86_64"},
}

# Run in the SAM CLI's environment: the function as `sam local` sees it, each layer's version computed as it is
# before an image is built (where an unreadable layer fails).
READ_FUNCTION = """
import json, sys
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

template, overrides = sys.argv[1], json.loads(sys.argv[2])
stacks, _ = SamLocalStackProvider.get_stacks(template, parameter_overrides=overrides)
function = SamFunctionProvider(stacks).get("ForwarderFunction")
variables = (function.environment or {}).get("Variables", {})
print(json.dumps({
    "layers": [[layer.name, layer.version] for layer in function.layers],
    "architectures": function.architectures,
    "runtime": function.runtime,
    "handler": function.handler,
    "endpoint": variables.get("AWS_ENDPOINT_URL"),
}))
"""


@pytest.mark.parametrize("parameters", PARAMETER_SETS.values(), ids=PARAMETER_SETS.keys())
def test_sam_local_reads_the_function_with_every_parameter_set(parameters: dict[str, str]) -> None:
    result = run([tool(SAM_BIN, "python"), "-c", READ_FUNCTION, str(TEMPLATE), json.dumps(parameters)])
    function = json.loads(result.stdout.strip().splitlines()[-1])
    # No layer locally: the CRT layer's item is a Fn::If, which SAM's local runner passes over.
    assert function["layers"] == []
    assert function["architectures"] == [parameters.get("Architecture", "arm64")]
    assert (function["runtime"], function["handler"]) == ("python3.13", "forwarder.handler.lambda_handler")
    # Declared, and empty unless --env-vars gives it, so a local run can point the function at an emulator.
    assert function["endpoint"] == ""
