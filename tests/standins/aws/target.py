"""Where the AWS tests point: the stand-in or a real account, with a boto3 client factory.

Tests get one of these from the ``aws`` fixture and never build clients themselves, so the same
test runs against moto (dummy credentials, ``endpoint_url``) and a real account (a profile or the
default credential chain).  Against a real account resources cost money: tests name them with
``unique`` and register their deletion with ``defer``.
"""
from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from .._cleanups import Cleanups
from .env import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY, standin_env
from .server import reset as reset_moto


@dataclass
class AwsTarget:
    """An AWS endpoint (stand-in or real) plus the per-test cleanups of what a test created."""

    endpoint_url: str | None
    region: str
    is_standin: bool
    profile: str | None = None
    clients: dict[tuple[str, int], Any] = field(default_factory=dict, repr=False)  # shared by derive()
    cleanups: Cleanups = field(default_factory=Cleanups, repr=False)

    def derive(self) -> AwsTarget:
        """A view for one test: same endpoint and client cache, its own cleanup list."""
        return dataclasses.replace(self, cleanups=Cleanups())

    # --- clients -----------------------------------------------------------------------------
    def session(self) -> boto3.session.Session:
        if self.is_standin:
            # Explicit keys: botocore never walks the credential chain (profiles, IMDS).
            return boto3.session.Session(
                aws_access_key_id=DUMMY_ACCESS_KEY_ID,
                aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
                region_name=self.region,
            )
        return boto3.session.Session(profile_name=self.profile, region_name=self.region)

    def client(self, service: str, max_attempts: int = 3) -> Any:
        """A cached boto3 client; ``max_attempts=1`` disables botocore's retries."""
        key = (service, max_attempts)
        if key not in self.clients:
            config = Config(retries={"mode": "standard", "total_max_attempts": max_attempts})
            self.clients[key] = self.session().client(service, endpoint_url=self.endpoint_url, config=config)
        return self.clients[key]

    def waiter_config(self) -> dict[str, float]:
        """Polling for boto3 waiters: fast against the stand-in, patient against AWS (RDS takes ~10 min)."""
        return {"Delay": 0.2, "MaxAttempts": 150} if self.is_standin else {"Delay": 20, "MaxAttempts": 180}

    # --- subprocesses ---------------------------------------------------------------------------
    def env_for(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` plus what a subprocess (ansible-playbook, aws CLI) needs to reach this target."""
        if self.is_standin:
            assert self.endpoint_url is not None
            return standin_env(self.endpoint_url, self.region, base)
        env = dict(base)
        env.update(AWS_REGION=self.region, AWS_DEFAULT_REGION=self.region)
        if self.profile:
            env["AWS_PROFILE"] = self.profile
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        return env

    @property
    def env(self) -> dict[str, str]:
        """The current environment adjusted for this target (see ``env_for``)."""
        return self.env_for(os.environ)

    @property
    def aws_vars(self) -> dict[str, str]:
        """Only the AWS_* variables of ``env`` (for Molecule/inventory files)."""
        return {key: value for key, value in self.env.items() if key.startswith("AWS_")}

    # --- resources --------------------------------------------------------------------------------
    @staticmethod
    def unique(prefix: str) -> str:
        """A name no other test run uses (valid for tables, RDS identifiers and S3 buckets)."""
        return f"pitr-test-{prefix}-{uuid.uuid4().hex[:10]}".lower()

    def defer(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``func(*args, **kwargs)`` when the test ends (last registered, first run)."""
        self.cleanups.defer(func, *args, **kwargs)

    def reset(self) -> None:
        """Forget everything in the stand-in.  Refuses against a real account."""
        if not self.is_standin or self.endpoint_url is None:
            raise RuntimeError("reset() is only for the local stand-in")
        reset_moto(self.endpoint_url)
