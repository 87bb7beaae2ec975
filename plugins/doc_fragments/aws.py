# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Documentation of the AWS connection options (module_utils/aws_client.aws_argument_spec)."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options:
  region:
    description:
      - The AWS region, for example C(us-east-1).
      - Default C(AWS_REGION), then C(AWS_DEFAULT_REGION), then the region of the profile.
    type: str
    aliases: [aws_region]
  endpoint_url:
    description:
      - URL to send every AWS API call to instead of the service's public endpoint, for example a
        VPC endpoint or a local stand-in such as moto.
      - Default C(AWS_ENDPOINT_URL) (botocore also honours service-specific variables such as
        C(AWS_ENDPOINT_URL_DYNAMODB) when this option is not set).
    type: str
    aliases: [aws_endpoint_url]
  profile:
    description:
      - A named profile of the AWS config and credentials files.
      - Default C(AWS_PROFILE), then C(AWS_DEFAULT_PROFILE).
      - Keys given with O(access_key) and O(secret_key) take precedence over the profile's keys.
    type: str
    aliases: [aws_profile]
  access_key:
    description:
      - AWS access key ID. Default C(AWS_ACCESS_KEY_ID), then C(AWS_ACCESS_KEY).
      - Without keys, boto3's default credential chain is used (profile, web identity,
        container or instance role).
    type: str
    aliases: [aws_access_key_id, aws_access_key]
  secret_key:
    description: AWS secret access key. Default C(AWS_SECRET_ACCESS_KEY), then C(AWS_SECRET_KEY).
    type: str
    aliases: [aws_secret_access_key, aws_secret_key]
  session_token:
    description: AWS session token, for temporary credentials. Default C(AWS_SESSION_TOKEN).
    type: str
    aliases: [aws_session_token]
  validate_certs:
    description:
      - Whether to verify the TLS certificates of AWS endpoints.
      - Prefer O(aws_ca_bundle) to turning this off.
    type: bool
    default: true
  aws_ca_bundle:
    description: CA bundle to verify the endpoints' certificates with. Default C(AWS_CA_BUNDLE).
    type: path
notes:
  - Throttling and transient errors are retried with full-jitter exponential backoff (up to 10
    retries, first delay up to 3 seconds, doubling, at most 60 seconds). The environment variable
    C(SCALAROPS_PITR_RETRY_BASE_DELAY) (seconds) changes the first delay, for example to keep
    tests against a local stand-in fast.
"""
