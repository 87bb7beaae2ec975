"""Environment and credentials that keep every AWS client on the stand-in.

botocore looks for credentials in the environment, then profile files, then the EC2/ECS
metadata service.  Against a stand-in we want none of the last two: a developer's real
profile must never be picked up and a metadata lookup would hang for a second per client
off EC2.  So subprocesses get dummy keys, empty config files and IMDS disabled.
"""
from __future__ import annotations

import os
from collections.abc import Mapping

DUMMY_ACCESS_KEY_ID = "testing"
DUMMY_SECRET_ACCESS_KEY = "testing"
# moto derives the account from the access key; any key that is not a known moto key maps here.
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"


def standin_vars(endpoint_url: str, region: str) -> dict[str, str]:
    """The AWS_* variables that point botocore (and so boto3, amazon.aws, the aws CLI) at a stand-in."""
    return {
        "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_ACCESS_KEY,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        # Honoured by botocore >= 1.31 for every service when a client gets no endpoint_url.
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_EC2_METADATA_DISABLED": "true",
        # Empty files: no profile of the developer's can leak in (role_arn, sso, endpoint_url...).
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def without_aws_vars(base: Mapping[str, str]) -> dict[str, str]:
    """``base`` minus every AWS_* variable (profiles, session tokens, endpoint overrides)."""
    return {key: value for key, value in base.items() if not key.startswith("AWS_")}


def standin_env(endpoint_url: str, region: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A full environment for a subprocess that must talk to the stand-in and nothing else."""
    env = without_aws_vars(os.environ if base is None else base)
    env.update(standin_vars(endpoint_url, region))
    return env
