"""A bus named by its ARN: its region and account are read from it; one that could never be reached fails the
cold start naming EVENT_BUS_NAME."""

from __future__ import annotations

import pytest

from forwarder.config.settings import BusArn, ConfigurationError, Settings, bus_arn

REQUIRED = {"EVENT_SOURCE": "my.app", "EVENT_DETAIL_TYPE": "OrderPlaced", "AWS_REGION": "us-east-1"}


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("arn:aws:events:eu-west-1:210987654321:event-bus/central", BusArn("aws", "eu-west-1", "210987654321")),
        ("arn:aws:events:us-east-1:123456789012:event-bus/default", BusArn("aws", "us-east-1", "123456789012")),
        ("arn:aws-us-gov:events:us-gov-west-1:123456789012:event-bus/b", BusArn("aws-us-gov", "us-gov-west-1",
                                                                                 "123456789012")),
        ("arn:aws:events:ap-southeast-2:210987654321:event-busv2/central/abcdefghijklmnopqrstuvwxy",
         BusArn("aws", "ap-southeast-2", "210987654321")),
        ("central", None),
        ("default", None),
    ],
)
def test_a_bus_arn_gives_its_partition_region_and_account(name, parts):
    assert bus_arn(name) == parts
    home = {"AWS_REGION": "us-gov-east-1"} if name.startswith("arn:aws-us-gov:") else {}  # the bus's partition
    settings = Settings.from_env(REQUIRED | {"EVENT_BUS_NAME": name} | home)
    assert settings.bus_region == (parts.region if parts else None)


@pytest.mark.parametrize(
    ("name", "home", "message"),
    [
        # The ARN's partition is not its region's.
        ("arn:aws:events:cn-north-1:123456789012:event-bus/b", "us-east-1", "its region 'cn-north-1'"),
        ("arn:aws-cn:events:eu-west-1:123456789012:event-bus/b", "us-east-1", "its region 'eu-west-1'"),
        # A bus of another partition than the function's: its credentials cannot sign for it.
        ("arn:aws-cn:events:cn-north-1:123456789012:event-bus/b", "us-east-1", "this function's region 'us-east-1'"),
        ("arn:aws:events:eu-west-1:123456789012:event-busv2/b/abcdefghijklmnopqrstuvwxy", "cn-north-1",
         "this function's region 'cn-north-1'"),
    ],
)
def test_a_bus_no_credentials_of_this_function_could_reach_fails_the_cold_start(name, home, message):
    with pytest.raises(ConfigurationError, match="EVENT_BUS_NAME") as raised:
        Settings.from_env(REQUIRED | {"EVENT_BUS_NAME": name, "AWS_REGION": home})
    assert message in str(raised.value)


def test_a_region_botocore_does_not_know_is_let_through():
    # A region newer than the installed botocore: botocore resolves it as it would any other.
    name = "arn:aws:events:zz-new-1:123456789012:event-bus/b"
    assert Settings.from_env(REQUIRED | {"EVENT_BUS_NAME": name}).bus_region == "zz-new-1"


@pytest.mark.parametrize(
    "name",
    [
        "arn:aws:events:us-east-1X:123456789012:event-bus/b",  # botocore's name pattern takes \w in the region
        "arn:awsX:events:us-east-1:123456789012:event-bus/b",
        "arn:aws_cn:events:cn-north-1:123456789012:event-bus/b",
    ],
)
def test_a_bus_arn_whose_region_cannot_be_read_fails_the_cold_start(name):
    # Taken as a bus name, its requests would go to this function's region while naming another.
    with pytest.raises(ConfigurationError, match="EVENT_BUS_NAME"):
        Settings.from_env(REQUIRED | {"EVENT_BUS_NAME": name})
