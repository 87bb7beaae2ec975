"""Unit tests of the shared AWS core: connection options, retry policy, error messages."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    ProfileNotFound,
    ReadTimeoutError,
)

from ansible_collections.scalarops.pitr.plugins.doc_fragments.aws import ModuleDocFragment as AwsDocFragment
from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import (
    COLLECTION_VERSION,
    RETRY_BASE_DELAY_ENV,
    THROTTLE_CODES,
    AwsConnection,
    AwsError,
    aws_argument_spec,
    describe_error,
    error_code,
    retry_base_delay,
    retrying,
)

REPO_ROOT = Path(__file__).resolve().parents[4]


def client_error(code: str, message: str = "boom", operation: str = "RestoreTableToPointInTime") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


class Flaky:
    """A callable that raises the given errors in turn, then returns "done"; records its arguments."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        self.calls.append((args, kwargs))
        if self.errors:
            raise self.errors.pop(0)
        return "done"


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# --- argument spec -----------------------------------------------------------------------------
class FallbackMissing(Exception):
    pass


def fake_env_fallback(*names: str, environ: dict[str, str]) -> str:
    for name in names:
        if name in environ:
            return environ[name]
    raise FallbackMissing(names)


def resolve_with_fake(environ: dict[str, str]) -> dict[str, Any]:
    """What a module would see for each option, using the spec's (func, names) fallbacks."""
    spec = aws_argument_spec(lambda *names: fake_env_fallback(*names, environ=environ))
    values: dict[str, Any] = {}
    for name, option in spec.items():
        values[name] = option.get("default")
        if "fallback" in option:
            func, args = option["fallback"]
            try:
                values[name] = func(*args)
            except FallbackMissing:
                pass
    return values


def test_spec_fallbacks_prefer_the_first_variable() -> None:
    values = resolve_with_fake({
        "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-2", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
        "AWS_PROFILE": "ops", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t",
        "AWS_SESSION_TOKEN": "tok", "AWS_CA_BUNDLE": "/etc/ca.pem",
    })
    assert values == {
        "region": "eu-west-1", "endpoint_url": "http://127.0.0.1:5000", "profile": "ops", "access_key": "AKIDEXAMPLE",
        "secret_key": "s3cr3t", "session_token": "tok", "validate_certs": True, "aws_ca_bundle": "/etc/ca.pem",
    }


def test_spec_falls_back_to_the_second_variable_and_to_nothing() -> None:
    values = resolve_with_fake({"AWS_DEFAULT_REGION": "us-east-2", "AWS_SECRET_KEY": "old-style"})
    assert values["region"] == "us-east-2"
    assert values["secret_key"] == "old-style"
    assert values["endpoint_url"] is None and values["profile"] is None and values["access_key"] is None


def test_spec_marks_only_real_secrets_no_log() -> None:
    spec = aws_argument_spec(env_fallback)
    assert spec["secret_key"]["no_log"] is True
    assert spec["session_token"]["no_log"] is True
    assert spec["access_key"]["no_log"] is False  # an id, not a secret (explicit, like amazon.aws)
    assert {name for name, option in spec.items() if option.get("no_log")} == {"secret_key", "session_token"}


def test_spec_validates_with_ansible_aliases_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CA_BUNDLE",
                 "AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-env")
    result = ArgumentSpecValidator(aws_argument_spec(env_fallback)).validate(
        {"aws_endpoint_url": "http://localhost:4566", "aws_access_key_id": "AKIDEXAMPLE", "validate_certs": "no"}
    )
    assert result.error_messages == []
    params = result.validated_parameters
    assert params["region"] == "ap-northeast-1"
    assert params["endpoint_url"] == "http://localhost:4566"
    assert params["access_key"] == "AKIDEXAMPLE"
    assert params["secret_key"] == "from-env"
    assert params["validate_certs"] is False
    assert "from-env" in result._no_log_values  # pylint: disable=protected-access  # Ansible masks it in output


def test_collection_version_matches_galaxy_yml() -> None:
    galaxy = (REPO_ROOT / "galaxy.yml").read_text()
    assert re.search(r"^version:\s*(\S+)", galaxy, re.M).group(1) == COLLECTION_VERSION


# --- connection ----------------------------------------------------------------------------------
def test_connection_caches_clients_and_disables_botocore_retries() -> None:
    conn = AwsConnection({"region": "us-east-1", "access_key": "AKIDEXAMPLE", "secret_key": "x", "endpoint_url": "http://127.0.0.1:9"})
    ddb = conn.client("dynamodb")
    assert conn.client("dynamodb") is ddb
    assert conn.client("rds") is not ddb
    config = ddb.meta.config
    assert config.retries["total_max_attempts"] == 1
    assert f"scalarops.pitr/{COLLECTION_VERSION}" in config.user_agent_extra
    assert config.connect_timeout == 10 and config.read_timeout == 60
    assert ddb.meta.endpoint_url == "http://127.0.0.1:9"
    assert conn.region == "us-east-1"


def test_connection_unknown_profile_is_an_aws_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    with pytest.raises(AwsError) as info:
        AwsConnection({"profile": "nope", "region": "us-east-1"}).client("dynamodb")
    assert "nope" in str(info.value) and "AWS_PROFILE" in str(info.value)


# --- retries --------------------------------------------------------------------------------------
def test_retry_succeeds_after_throttling_and_passes_arguments() -> None:
    call = Flaky(client_error("ThrottlingException"), client_error("ProvisionedThroughputExceededException"))
    sleeps = Sleeps()
    seen: list[tuple[int, float, str | None]] = []
    result = retrying(call, "pos", TableName="t", base_delay=1.0, sleep=sleeps, rand=lambda: 1.0,
                      on_retry=lambda attempt, delay, exc: seen.append((attempt, delay, error_code(exc))))
    assert result == "done"
    assert call.calls == [(("pos",), {"TableName": "t"})] * 3
    assert sleeps == [1.0, 2.0]  # the ceiling doubles; rand=1.0 takes the ceiling itself
    assert seen == [(1, 1.0, "ThrottlingException"), (2, 2.0, "ProvisionedThroughputExceededException")]


def test_full_jitter_stays_within_the_doubling_ceiling_and_the_cap() -> None:
    call = Flaky(*[client_error("Throttling")] * 10)
    sleeps = Sleeps()
    retrying(call, base_delay=3.0, max_delay=60.0, sleep=sleeps)
    ceilings = [min(60.0, 3.0 * 2 ** n) for n in range(10)]
    assert len(sleeps) == 10
    assert all(0.0 <= slept <= ceiling for slept, ceiling in zip(sleeps, ceilings))
    # full jitter, not "ceiling plus a bit": 10 uniform draws are not all in the top 1 % of their range
    assert any(slept < 0.99 * ceiling for slept, ceiling in zip(sleeps, ceilings))


def test_max_delay_caps_every_sleep() -> None:
    sleeps = Sleeps()
    retrying(Flaky(*[client_error("SlowDown")] * 8), base_delay=3.0, max_delay=5.0, sleep=sleeps, rand=lambda: 1.0)
    assert sleeps == [3.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0]


def test_retries_exhausted_raises_the_last_error() -> None:
    errors = [client_error("RequestLimitExceeded", f"try {n}") for n in range(4)]
    call = Flaky(*errors)
    sleeps = Sleeps()
    with pytest.raises(ClientError) as info:
        retrying(call, retries=3, base_delay=0.0, sleep=sleeps)
    assert info.value is errors[3]
    assert len(call.calls) == 4 and len(sleeps) == 3


def test_non_retryable_code_raises_at_once() -> None:
    call = Flaky(client_error("ResourceNotFoundException"))
    sleeps = Sleeps()
    with pytest.raises(ClientError):
        retrying(call, base_delay=0.0, sleep=sleeps)
    assert len(call.calls) == 1 and sleeps == []


def test_non_aws_errors_are_not_retried() -> None:
    call = Flaky(ValueError("bug"))
    with pytest.raises(ValueError):
        retrying(call, base_delay=0.0, sleep=Sleeps())
    assert len(call.calls) == 1


@pytest.mark.parametrize("code", ["BackupInUseException", "ResourceInUseException"])
def test_extra_codes_are_retried_only_when_asked(code: str) -> None:
    assert code not in THROTTLE_CODES
    assert retrying(Flaky(client_error(code)), extra_codes={"BackupInUseException", "ResourceInUseException"},
                    base_delay=0.0, sleep=Sleeps()) == "done"
    with pytest.raises(ClientError):
        retrying(Flaky(client_error(code)), base_delay=0.0, sleep=Sleeps())


def test_codes_replaces_the_default_set() -> None:
    with pytest.raises(ClientError):
        retrying(Flaky(client_error("ThrottlingException")), codes={"InvalidDBInstanceState"}, base_delay=0.0, sleep=Sleeps())
    assert retrying(Flaky(client_error("InvalidDBInstanceState")), codes={"InvalidDBInstanceState"}, base_delay=0.0, sleep=Sleeps()) == "done"


def test_connection_errors_have_their_own_small_budget() -> None:
    dropped = [EndpointConnectionError(endpoint_url="http://x"), ReadTimeoutError(endpoint_url="http://x")]
    assert retrying(Flaky(*dropped, client_error("Throttling")), connection_retries=2, base_delay=0.0, sleep=Sleeps()) == "done"
    call = Flaky(*[EndpointConnectionError(endpoint_url="http://x")] * 3)
    with pytest.raises(EndpointConnectionError):
        retrying(call, connection_retries=2, base_delay=0.0, sleep=Sleeps())
    assert len(call.calls) == 3


def test_base_delay_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RETRY_BASE_DELAY_ENV, raising=False)
    assert retry_base_delay() == 3.0
    monkeypatch.setenv(RETRY_BASE_DELAY_ENV, "0.01")
    assert retry_base_delay() == 0.01
    sleeps = Sleeps()
    retrying(Flaky(client_error("Throttling"), client_error("Throttling")), sleep=sleeps, rand=lambda: 1.0)
    assert sleeps == [0.01, 0.02]
    for bad in ("fast", "-1"):
        monkeypatch.setenv(RETRY_BASE_DELAY_ENV, bad)
        assert retry_base_delay() == 3.0


# --- error messages -----------------------------------------------------------------------------------
def test_client_error_names_action_code_and_message() -> None:
    exc = client_error("ValidationException", "Restore time is outside the window\nof the table")
    text = describe_error(exc, "RestoreTableToPointInTime ns.orders -> ns.orders-staging")
    assert text == ("RestoreTableToPointInTime ns.orders -> ns.orders-staging failed: ValidationException: "
                    "Restore time is outside the window; of the table")


def test_access_denied_names_the_iam_permission() -> None:
    exc = client_error("AccessDeniedException", "User: arn:aws:iam::1:user/u is not authorized", "RestoreTableToPointInTime")
    text = describe_error(exc, "RestoreTableToPointInTime ns.orders -> x", service="dynamodb")
    assert "AccessDeniedException" in text
    assert "IAM permission dynamodb:RestoreTableToPointInTime" in text
    assert "IAM permission DescribeDBInstances" in describe_error(client_error("AccessDenied", operation="DescribeDBInstances"), "describe")


def test_rejected_credentials_say_how_to_fix() -> None:
    text = describe_error(client_error("UnrecognizedClientException", "The security token included in the request is invalid"), "DescribeTable t")
    assert "credentials were rejected" in text and "AWS_ACCESS_KEY_ID" in text


def test_missing_credentials_and_region_say_how_to_fix() -> None:
    no_creds = describe_error(NoCredentialsError(), "DescribeTable t")
    assert no_creds.startswith("DescribeTable t failed: no complete AWS credentials")
    assert "AWS_ACCESS_KEY_ID" in no_creds and "AWS_PROFILE" in no_creds and "profile" in no_creds
    no_region = describe_error(NoRegionError(), "create dynamodb client")
    assert "region option" in no_region and "AWS_REGION" in no_region
    assert "profile" in describe_error(ProfileNotFound(profile="ops"), "open AWS session")


def test_parameter_values_are_never_echoed() -> None:
    exc = ParamValidationError(report="Invalid type for parameter MasterUserPassword, value: hunter2, type: <class 'int'>, valid types: <class 'str'>")
    text = describe_error(exc, "RestoreDBInstanceToPointInTime db")
    assert "hunter2" not in text
    assert "MasterUserPassword" in text and "\n" not in text


def test_connection_error_and_aws_error_messages() -> None:
    text = describe_error(EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), "DescribeTable t")
    assert "cannot reach AWS" in text and "endpoint_url" in text
    assert describe_error(AwsError("already translated"), "x") == "already translated"
    assert describe_error(RuntimeError("odd"), "DescribeTable t") == "DescribeTable t failed: RuntimeError: odd"


def test_module_has_no_secret_in_messages_for_a_session_built_from_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    # A session with keys but no region: the translated NoRegionError must not echo the keys.
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    conn = AwsConnection({"access_key": "AKIDEXAMPLE", "secret_key": "very-secret", "session_token": "tok-secret"})
    with pytest.raises(AwsError) as info:
        conn.client("dynamodb")
    assert info.value.code == "NoRegionError"
    assert "very-secret" not in str(info.value) and "tok-secret" not in str(info.value)
    assert "region" in str(info.value)


def test_without_boto3_the_module_imports_and_reports_the_error() -> None:
    # The guard's contract: without boto3 the file still imports (the module can then report
    # BOTO3_IMPORT_ERROR with missing_required_lib) and the helpers that need no AWS still work.
    code = (
        "import sys; sys.modules['boto3'] = None; sys.modules['botocore'] = None\n"
        "from ansible_collections.scalarops.pitr.plugins.module_utils import aws_client as a\n"
        "print(a.HAS_BOTO3, type(a.BOTO3_IMPORT_ERROR).__name__)\n"
        "print(a.retrying(lambda: 'ok'), a.describe_error(ValueError('x'), 'act'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO_ROOT / ".build" / "collections")})
    assert out.stdout.splitlines() == ["False ModuleNotFoundError", "ok act failed: ValueError: x"]


def test_doc_fragment_documents_the_spec_exactly() -> None:
    fragment = yaml.safe_load(AwsDocFragment.DOCUMENTATION)["options"]
    spec = aws_argument_spec(env_fallback)
    assert set(fragment) == set(spec)
    for name, option in spec.items():
        documented = fragment[name]
        assert documented["type"] == option["type"], name
        assert documented.get("aliases", []) == option.get("aliases", []), name
        assert documented.get("default") == option.get("default"), name
        for variable in option.get("fallback", (None, []))[1]:
            assert f"C({variable})" in str(documented["description"]), f"{name}: {variable} undocumented"
