# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""boto3 as every AWS module of the collection uses it.

One place for the import guard (modules report a missing library with ``missing_required_lib``),
the connection options (named and defaulted like amazon.aws's, so ``module_defaults``, AWX AWS
credentials and the standard AWS_* variables work alike), one boto3 Session per module run with
cached clients, a retry helper that owns retrying, and the translation of botocore errors into
one-line messages that say what failed and how to fix it.

Retrying is ours, not botocore's: clients are built with a single attempt so that one policy
(full-jitter exponential backoff, per-call extra error codes, an ``on_retry`` hook for progress
output) applies everywhere and tests can count calls exactly.  The base delay defaults to 3 s
like amazon.aws; the environment variable ``SCALAROPS_PITR_RETRY_BASE_DELAY`` (seconds, float)
overrides it, which is how tests and the local stand-ins keep retries fast.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        ParamValidationError,
        PartialCredentialsError,
        ProfileNotFound,
        ReadTimeoutError,
    )

    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
    # Transport failures worth a few more tries: the request may never have reached AWS, or the
    # answer was lost on the way back.  All calls we retry are idempotent or guarded by a check.
    CONNECTION_ERRORS: tuple[type[Exception], ...] = (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError, ConnectTimeoutError)
except ImportError as _exc:  # the module reports it with missing_required_lib
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = _exc
    boto3 = None  # pylint: disable=invalid-name
    Config = None  # pylint: disable=invalid-name
    CONNECTION_ERRORS = ()

    # Stand-ins keep ``except`` clauses and isinstance checks valid without the library.
    class BotoCoreError(Exception):  # type: ignore[no-redef]
        pass

    class ClientError(Exception):  # type: ignore[no-redef]
        response: dict[str, Any] = {}
        operation_name = ""

    class NoCredentialsError(BotoCoreError):  # type: ignore[no-redef]
        pass

    class PartialCredentialsError(BotoCoreError):  # type: ignore[no-redef]
        pass

    class NoRegionError(BotoCoreError):  # type: ignore[no-redef]
        pass

    class ProfileNotFound(BotoCoreError):  # type: ignore[no-redef]
        pass

    class ParamValidationError(BotoCoreError):  # type: ignore[no-redef]
        pass


__all__ = [
    "BOTO3_IMPORT_ERROR", "COLLECTION_VERSION", "CONNECTION_ERRORS", "HAS_BOTO3", "RETRY_BASE_DELAY_ENV", "THROTTLE_CODES",
    "AwsConnection", "AwsError", "BotoCoreError", "ClientError", "aws_argument_spec", "describe_error", "error_code",
    "retry_base_delay", "retrying",
]

# Sent in the User-Agent so AWS-side logs (CloudTrail userAgent) show what made a call.
# Keep equal to galaxy.yml's version (a unit test checks it).
COLLECTION_VERSION = "0.1.0"

RETRY_BASE_DELAY_ENV = "SCALAROPS_PITR_RETRY_BASE_DELAY"
DEFAULT_RETRY_BASE_DELAY = 3.0

# Error codes that mean "slow down and try again" across AWS services.
THROTTLE_CODES: frozenset[str] = frozenset({
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
})

# Codes that mean the caller lacks a permission, and codes that mean the credentials are wrong.
_ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "Forbidden"})
_BAD_CREDENTIAL_CODES = frozenset({
    "UnrecognizedClientException", "InvalidClientTokenId", "InvalidAccessKeyId", "ExpiredToken", "ExpiredTokenException",
    "InvalidSignatureException", "SignatureDoesNotMatch", "MissingAuthenticationToken",
})

_CREDENTIALS_HOWTO = (
    "give access_key/secret_key (and session_token for temporary credentials), or a profile, "
    "or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or AWS_PROFILE, "
    "or run where an instance/task/pod role provides credentials"
)

T = TypeVar("T")


class AwsError(RuntimeError):
    """An AWS call failed; ``str()`` is the translated one-line message (never a secret).

    ``code`` is the AWS error code (or the botocore exception's class name) for callers that
    branch on it; ``cause`` is the original exception.
    """

    def __init__(self, message: str, code: str | None = None, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.cause = cause


# --- options --------------------------------------------------------------------------------------------
def aws_argument_spec(env_fallback: Any) -> dict[str, Any]:
    """Connection options (documented by the scalarops.pitr.aws doc fragment).

    ``env_fallback`` is ansible.module_utils.basic.env_fallback, passed in so this file stays
    importable without Ansible.  Names, aliases and fallbacks follow amazon.aws, except that the
    endpoint comes from AWS_ENDPOINT_URL, the variable botocore and the AWS CLI read themselves.
    """
    return {
        "region": {"type": "str", "aliases": ["aws_region"], "fallback": (env_fallback, ["AWS_REGION", "AWS_DEFAULT_REGION"])},
        "endpoint_url": {"type": "str", "aliases": ["aws_endpoint_url"], "fallback": (env_fallback, ["AWS_ENDPOINT_URL"])},
        "profile": {"type": "str", "aliases": ["aws_profile"], "fallback": (env_fallback, ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"])},
        # An access key id identifies, it does not authenticate: no_log=False says so explicitly
        # (the name looks secret to ansible-test's validate-modules).
        "access_key": {
            "type": "str", "aliases": ["aws_access_key_id", "aws_access_key"],
            "fallback": (env_fallback, ["AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"]), "no_log": False,
        },
        "secret_key": {
            "type": "str", "aliases": ["aws_secret_access_key", "aws_secret_key"],
            "fallback": (env_fallback, ["AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"]), "no_log": True,
        },
        "session_token": {"type": "str", "aliases": ["aws_session_token"], "fallback": (env_fallback, ["AWS_SESSION_TOKEN"]), "no_log": True},
        "validate_certs": {"type": "bool", "default": True},
        "aws_ca_bundle": {"type": "path", "fallback": (env_fallback, ["AWS_CA_BUNDLE"])},
    }


# --- connection -------------------------------------------------------------------------------------------
class AwsConnection:
    """One boto3 Session for a module run and one cached client per service.

    ``params`` are the module's parameters (at least the keys of :func:`aws_argument_spec`;
    missing keys mean "not given").  Clients are thread-safe and shared by the workers of
    ``concurrency.run_bounded``; ``pool_size`` should be at least the number of workers so no
    worker waits for an HTTP connection.  Errors building the session or a client (unknown
    profile, no region) are raised as :class:`AwsError` with a how-to-fix message.
    """

    def __init__(
        self,
        params: Mapping[str, Any],
        *,
        pool_size: int = 50,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
    ) -> None:
        self.params = dict(params)
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._session: Any = None
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()  # a boto3 Session is not thread-safe; clients are

    @property
    def region(self) -> str | None:
        """The region given, else the one the profile/environment resolves to (None if none)."""
        return self.params.get("region") or self.session().region_name

    def session(self) -> Any:
        with self._lock:
            return self._session_locked()

    def _session_locked(self) -> Any:
        if self._session is None:
            get = self.params.get
            try:
                self._session = boto3.session.Session(
                    aws_access_key_id=get("access_key") or None,
                    aws_secret_access_key=get("secret_key") or None,
                    aws_session_token=get("session_token") or None,
                    profile_name=get("profile") or None,
                    region_name=get("region") or None,
                )
            except BotoCoreError as exc:
                raise AwsError(describe_error(exc, "open AWS session"), _code_of(exc), exc) from None
        return self._session

    def config(self) -> Any:
        """The botocore Config of every client (see the module docstring on retries)."""
        return Config(
            # total_max_attempts counts the first attempt: 1 switches botocore's own retries off
            # (its max_attempts would count retries only in legacy mode, and 1 there means two tries).
            retries={"mode": "standard", "total_max_attempts": 1},
            user_agent_extra=f"scalarops.pitr/{COLLECTION_VERSION}",
            connect_timeout=self._connect_timeout,
            read_timeout=self._read_timeout,
            max_pool_connections=self._pool_size,
        )

    def client(self, service: str) -> Any:
        """The cached boto3 client of ``service`` ("dynamodb", "rds", "s3", ...)."""
        with self._lock:
            if service not in self._clients:
                session = self._session_locked()
                bundle = self.params.get("aws_ca_bundle")
                verify: bool | str = bundle if bundle else self.params.get("validate_certs", True) is not False
                try:
                    self._clients[service] = session.client(
                        service, endpoint_url=self.params.get("endpoint_url") or None, verify=verify, config=self.config()
                    )
                except BotoCoreError as exc:
                    raise AwsError(describe_error(exc, f"create {service} client"), _code_of(exc), exc) from None
            return self._clients[service]


# --- retries ----------------------------------------------------------------------------------------------
def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a ClientError (e.g. "ThrottlingException"), else None."""
    if isinstance(exc, ClientError):
        return (getattr(exc, "response", None) or {}).get("Error", {}).get("Code") or None
    return None


def retry_base_delay(default: float = DEFAULT_RETRY_BASE_DELAY) -> float:
    """The first backoff ceiling in seconds: $SCALAROPS_PITR_RETRY_BASE_DELAY if set and valid, else ``default``."""
    value = os.environ.get(RETRY_BASE_DELAY_ENV, "").strip()
    if value:
        try:
            parsed = float(value)
        except ValueError:
            return default
        if parsed >= 0:
            return parsed
    return default


def retrying(
    call: Callable[..., T],
    *args: Any,
    retries: int = 10,
    base_delay: float | None = None,
    max_delay: float = 60.0,
    codes: Iterable[str] = THROTTLE_CODES,
    extra_codes: Iterable[str] = (),
    connection_retries: int = 3,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[int, float, BaseException], None] | None = None,
    rand: Callable[[], float] = random.random,
    **kwargs: Any,
) -> T:
    """``call(*args, **kwargs)``, retried with full-jitter exponential backoff.

    Retried: ClientErrors whose code is in ``codes`` (default :data:`THROTTLE_CODES`) or
    ``extra_codes`` (per call, e.g. DynamoDB's "BackupInUseException"), up to ``retries`` times;
    botocore connection errors up to ``connection_retries`` times (both budgets count separately).
    Attempt n (0-based) waits a uniformly random time in [0, min(max_delay, base_delay * 2**n)]
    ("full jitter": many workers throttled together do not retry together).  ``base_delay``
    defaults to :func:`retry_base_delay`.  ``on_retry(attempt, delay, exc)`` is called before each
    sleep.  When the budget is spent the last error is raised unchanged; any other error at once.
    Keyword arguments of ``call`` are passed through (boto3's are CamelCase, so they never clash).
    """
    retryable = frozenset(codes) | frozenset(extra_codes)
    base = retry_base_delay() if base_delay is None else base_delay
    throttled = 0
    dropped = 0
    attempt = 0
    while True:
        try:
            return call(*args, **kwargs)
        except ClientError as exc:
            if error_code(exc) not in retryable or throttled >= retries:
                raise
            throttled += 1
            last: BaseException = exc
        except CONNECTION_ERRORS as exc:
            if dropped >= connection_retries:
                raise
            dropped += 1
            last = exc
        delay = rand() * min(max_delay, base * 2 ** attempt)
        if on_retry is not None:
            on_retry(attempt + 1, delay, last)
        sleep(delay)
        attempt += 1


# --- error messages -------------------------------------------------------------------------------------------
def _code_of(exc: BaseException) -> str:
    return error_code(exc) or type(exc).__name__


def _one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", "; ", str(text)).strip()


def _iam_action(exc: BaseException, service: str | None) -> str:
    operation = getattr(exc, "operation_name", "") or "?"
    return f"{service}:{operation}" if service else operation


def describe_error(exc: BaseException, action: str, service: str | None = None) -> str:
    """One line naming ``action`` (e.g. "RestoreTableToPointInTime ns.orders -> ns.orders-staging"),
    the AWS error code and message, plus how to fix it where we know.

    ``service`` is the IAM prefix ("dynamodb", "rds") used in the hint of an access-denied error.
    Request parameters are never echoed (they may hold passwords), nor are credentials.
    """
    if isinstance(exc, AwsError):
        return exc.message
    if isinstance(exc, ClientError):
        error = (getattr(exc, "response", None) or {}).get("Error", {})
        code = error.get("Code") or "Unknown"
        message = _one_line(error.get("Message") or "")
        text = f"{action} failed: {code}: {message}" if message else f"{action} failed: {code}"
        if code in _ACCESS_DENIED_CODES:
            text += f" (the AWS identity in use needs the IAM permission {_iam_action(exc, service)} on this resource)"
        elif code in _BAD_CREDENTIAL_CODES:
            text += f" (the AWS credentials were rejected: check or renew them; {_CREDENTIALS_HOWTO})"
        return text
    if isinstance(exc, NoRegionError):
        return f"{action} failed: no AWS region: give the region option or set AWS_REGION (or AWS_DEFAULT_REGION), or use a profile that has one"
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return f"{action} failed: no complete AWS credentials found: {_CREDENTIALS_HOWTO}"
    if isinstance(exc, ProfileNotFound):
        return f"{action} failed: {_one_line(str(exc))}: check the profile option / AWS_PROFILE and the AWS config files"
    if isinstance(exc, ParamValidationError):
        # botocore echoes offending values ("value: ..."); they may be secrets, so keep only the names.
        return f"{action} failed: invalid request: {re.sub(r'value: .*?, type:', 'type:', _one_line(str(exc)))}"
    if CONNECTION_ERRORS and isinstance(exc, CONNECTION_ERRORS):
        return f"{action} failed: cannot reach AWS: {_one_line(str(exc))} (check endpoint_url, region, network and proxy settings)"
    return f"{action} failed: {type(exc).__name__}: {_one_line(str(exc))}"
