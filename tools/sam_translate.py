"""Translate the SAM template to plain CloudFormation JSON, offline.

Runs under the SAM CLI's own environment (.venv-sam), which carries aws-sam-translator:

    .venv-sam/bin/python tools/sam_translate.py template.yaml out.json [--code-uri s3://bucket/key]

The translator needs a region (taken from AWS_DEFAULT_REGION, default us-east-1) and a boto3 session, but
makes no network call as long as the template names no AWS managed policy by its short name. Local
CodeUri values (``src/``) are replaced with an S3 URI first, as ``sam package`` would do: by default a
placeholder, or the URI given with --code-uri (used by the deployment rehearsal to point at uploaded code).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

PLACEHOLDER_CODE_URI = "s3://placeholder-bucket/placeholder-key.zip"


def translate(template_text: str, code_uri: str = PLACEHOLDER_CODE_URI) -> dict:
    template = yaml_parse(template_text)
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            props = resource.setdefault("Properties", {})
            uri = props.get("CodeUri")
            if isinstance(uri, str) and not uri.startswith("s3://"):
                props["CodeUri"] = code_uri
    region = os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    session = boto3.session.Session(
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        region_name=region,
    )

    def no_managed_policy_lookup() -> dict:
        raise RuntimeError("the template names a managed policy by short name; use its ARN (offline build)")

    # The translator reads the region from boto3's default session.
    boto3.setup_default_session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - dummy credentials, no call leaves the machine
        region_name=region,
    )
    translator = Translator(
        managed_policy_map=None,
        sam_parser=Parser(),
        plugins=[],
        boto_session=session,
    )
    return translator.translate(
        sam_template=template, parameter_values={}, get_managed_policy_map=no_managed_policy_lookup
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--code-uri", default=PLACEHOLDER_CODE_URI)
    args = parser.parse_args(argv)
    translated = translate(args.template.read_text(), args.code_uri)
    args.output.write_text(json.dumps(translated, indent=2, sort_keys=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
