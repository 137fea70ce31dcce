"""The region and the credentials, found as the AWS CLI finds them, for the library and the command.

botocore alone reads the region from AWS_DEFAULT_REGION and the profile, but not from AWS_REGION, which
AWS CLI v2, the SDKs and Lambda set; without one, making a client fails with a traceback. A setup error
that no retry can cure is found here, before anything is sent, and said in one line with the AWS CLI's hint.
"""

from __future__ import annotations

import os
from typing import Any

import botocore.session
from botocore.exceptions import BotoCoreError

NO_REGION = 'You must specify a region. You can also configure your region by running "aws configure".'
NO_CREDENTIALS = 'Unable to locate credentials. You can configure credentials by running "aws configure".'


class SetupError(Exception):
    """The region or the credentials cannot be found: one line, in the AWS CLI's words."""


def region(session: Any, given: str | None = None) -> str | None:
    """`given` (--region), else AWS_REGION, else AWS_DEFAULT_REGION, else the profile's: the AWS CLI v2 order."""
    return given or os.environ.get("AWS_REGION") or session.get_config_variable("region") or None


def checked_session(given_region: str | None = None, profile: str | None = None) -> tuple[Any, str]:
    """A botocore session and its region, or SetupError when either the region or the credentials are missing.

    Credentials are resolved once here (the same chain every client of the session then uses), so that a
    missing one is said before the first request rather than as every entry's failure.
    """
    try:
        session = botocore.session.Session(profile=profile)
        found = region(session, given_region)
        if not found:
            raise SetupError(NO_REGION)
        if session.get_credentials() is None:
            raise SetupError(NO_CREDENTIALS)
    except BotoCoreError as error:  # a profile that does not exist, a config file that cannot be read
        raise SetupError(str(error)) from None
    return session, found
