# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Schema repair after a restore: Schema Loader ``--repair-all`` for one Scalar release.

Plain Python; the ``schema_repair`` module is its Ansible face. Three ways to run it:

* ``chart`` (ScalarDL): install the schema-loading chart as helm release ``<name>``;
* ``job``: a Job ``<name>`` running the Schema Loader image, with its properties in a Secret and
  the schema in a ConfigMap;
* ``local``: ``java -jar`` on the control node.

The name is deterministic (``<release>-schema-repair``), so a re-run from any machine finds the
previous run and replaces it. Whatever the repair needs and is not given (properties, the Secret
with the variables they reference, the image version) is read from the release itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils import schema_loader_job as objects
from ansible_collections.scalarops.pitr.plugins.module_utils.concurrency import Deadline
from ansible_collections.scalarops.pitr.plugins.module_utils.helm_cli import Helm, HelmError
from ansible_collections.scalarops.pitr.plugins.module_utils.k8s_client import KubeError, Urllib3HTTPError
from ansible_collections.scalarops.pitr.plugins.module_utils.k8s_jobs import JobRunner
from ansible_collections.scalarops.pitr.plugins.module_utils.redact import mask_secrets
from ansible_collections.scalarops.pitr.plugins.module_utils.scalar_products import ScalarProductError, get_product
from ansible_collections.scalarops.pitr.plugins.module_utils.schema_loader_args import (
    SCALARDL_PRODUCTS,
    SchemaLoaderArgsError,
    default_image,
    default_method,
    needs_schema,
    repair_command,
    repair_name,
    repair_options,
    schema_text,
    uses_scalardl_image,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.schema_loader_local import run_local, tail

DEFAULT_CHART_REF = "scalar-labs/schema-loading"
CLEANUP_TIMEOUT = 120.0


class SchemaRepairError(RuntimeError):
    """The repair could not run or did not succeed; ``result`` holds what is known so far."""

    def __init__(self, message: str, result: RepairResult | None = None) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class RepairRequest:  # pylint: disable=too-many-instance-attributes  # one field per module option
    """What to repair and how (the module's options)."""

    release: str
    namespace: str
    product: str
    method: str | None = None
    name: str | None = None
    database_properties: str | None = None
    secret_name: str | None = None  # None: the release's; "": none
    schema: Any = None
    image: str | None = None
    version: str | None = None
    chart_ref: str = DEFAULT_CHART_REF
    chart_version: str | None = None
    chart_repo_url: str | None = None
    coordinator: bool = True
    no_backup: bool = False
    no_scaling: bool = False
    ru: int | None = None
    extra_args: Sequence[str] = ()
    pod_annotations: Mapping[str, str] = field(default_factory=dict)
    image_pull_secrets: Sequence[str] = ()
    wait: bool = True
    wait_timeout: float = 600
    cleanup: bool = False
    log_lines: int = 50
    java_path: str = "java"
    schema_loader_jar: str | None = None
    check_mode: bool = False


@dataclass
class RepairResult:  # pylint: disable=too-many-instance-attributes  # the module's return values
    """What ran (or would run) and how it ended; never holds properties or Secret values."""

    method: str
    product: str
    release: str
    namespace: str
    job_name: str | None = None
    helm_release: str | None = None
    image: str | None = None
    args: list[str] = field(default_factory=list)
    status: str = "planned"
    duration: float = 0.0
    log_tail: str = ""
    cleaned_up: bool = False
    changed: bool = False
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("warnings")
        return data


class SchemaRepair:
    """Resolve a RepairRequest against the release and run it."""

    def __init__(self, request: RepairRequest, helm: Helm, kube_factory: Callable[[], Any]) -> None:
        self.req = request
        self.helm = helm
        self._kube_factory = kube_factory
        self._runner: JobRunner | None = None
        self._started = time.monotonic()
        product = request.product
        self.method = request.method or default_method(product)
        self.name = request.name or repair_name(request.release)
        self.result = RepairResult(method=self.method, product=product, release=request.release, namespace=request.namespace)

    # ---- entry point ------------------------------------------------------------------------
    def run(self) -> RepairResult:
        try:
            properties, secret, version, schema = self._resolve()
            deadline = Deadline(self.req.wait_timeout)
            if self.method == "chart":
                self._run_chart(deadline, properties, secret, version)
            elif self.method == "job":
                self._run_job(deadline, properties, secret, version, schema)
            else:
                self._run_local(deadline, properties, secret, schema)
        except (HelmError, KubeError, SchemaLoaderArgsError, ScalarProductError) as exc:
            raise self._error(str(exc)) from None
        except Urllib3HTTPError as exc:  # the API server could not be reached at all
            raise self._error(f"cannot reach the Kubernetes API: {exc}") from None
        finally:
            self.result.duration = round(time.monotonic() - self._started, 1)
        return self.result

    def _error(self, message: str) -> SchemaRepairError:
        self.result.duration = round(time.monotonic() - self._started, 1)
        return SchemaRepairError(message, self.result)

    # ---- inputs -----------------------------------------------------------------------------
    def _resolve(self) -> tuple[str, str | None, str | None, str | None]:
        req, product, method = self.req, self.req.product, self.method
        spec = get_product(product)
        if method == "chart" and product not in SCALARDL_PRODUCTS:
            raise self._error(f"method chart runs the ScalarDL schema-loading chart; repair {product} with method job or local")
        if method == "chart" and req.pod_annotations:
            raise self._error("the schema-loading chart has no value for pod annotations; use method job to set pod_annotations")
        if method == "local" and not req.schema_loader_jar:
            raise self._error("method local needs schema_loader_jar (the Schema Loader jar on the control node)")
        repair_options(no_backup=req.no_backup, no_scaling=req.no_scaling, ru=req.ru, extra_args=req.extra_args)  # validate early
        schema = None
        if needs_schema(product, method):
            if req.schema in (None, "", {}):
                raise self._error(f"schema is required to repair {product} with method {method}: Schema Loader --repair-all needs the schema file")
            schema = schema_text(req.schema)
        elif req.schema not in (None, "", {}):
            self.result.warnings.append(f"schema is ignored: the ScalarDL Schema Loader image brings the {product} schema")

        properties, secret = req.database_properties, req.secret_name
        if properties is None or secret is None:
            values = self._release_values().get(spec.values_key) or {}
            properties = values.get(spec.properties_key) if properties is None else properties
            secret = (values.get("secretName") or "") if secret is None else secret
        if not properties or not str(properties).strip():
            raise self._error(f"no database properties: give database_properties or set {spec.properties_path} in release "
                              f"{req.namespace}/{req.release}")
        if "{{" in properties and ".Env." in properties:
            self.result.warnings.append(
                "the database properties use dockerize templates ({{ .Env.NAME }}) that only the product's own pods render; "
                "give database_properties with ${env:NAME} placeholders or literal values if the repair cannot connect")
        version = req.version
        if version is None and method != "local":
            version = self._release_app_version()
            if version is None and method == "job":
                raise self._error(f"cannot tell the Schema Loader version: release {req.namespace}/{req.release} was not found "
                                  "or has no app version; give schema_loader_version")
        return str(properties), secret or None, version, schema

    def _release_values(self) -> dict[str, Any]:
        try:
            return self.helm.get_values(self.req.release, self.req.namespace)
        except HelmError as exc:
            raise self._error(f"cannot read the values of release {self.req.namespace}/{self.req.release} ({exc}); "
                              "give database_properties and secret_name, or fix release.name/namespace") from None

    def _release_app_version(self) -> str | None:
        entry = self.helm.find_release(self.req.release, self.req.namespace)
        return (entry or {}).get("app_version") or None

    def _kube(self) -> JobRunner:
        if self._runner is None:
            self._runner = JobRunner(self._kube_factory(), self.req.namespace)
        return self._runner

    # ---- the three ways -----------------------------------------------------------------------
    def _run_chart(self, deadline: Deadline, properties: str, secret: str | None, version: str | None) -> None:
        req = self.req
        command_args = repair_options(no_backup=req.no_backup, no_scaling=req.no_scaling, ru=req.ru, extra_args=req.extra_args)
        values = objects.chart_values(self.name, req.product, properties=properties, command_args=command_args, secret_name=secret,
                                      image=req.image, version=version, image_pull_secrets=req.image_pull_secrets)
        self.result.job_name = self.result.helm_release = self.name
        self.result.args = command_args  # the chart adds --config (and --coordinator for Ledger) itself
        # without a version the chart's own default image tag is used
        self.result.image = f"{req.image or default_image(req.product)}:{version}" if version else req.image
        if req.check_mode:
            self.result.changed = True
            return
        if self.helm.find_release(self.name, req.namespace) is not None:
            self.helm.uninstall(self.name, req.namespace, timeout=self._left(deadline))
        self._kube().delete_job(self.name, deadline)  # a Job of that name from another method would block helm
        self.result.changed = True
        self.helm.install(self.name, req.chart_ref, req.namespace, values, version=req.chart_version,
                          repo=req.chart_repo_url, timeout=self._left(deadline))
        self._follow(deadline)

    def _run_job(self, deadline: Deadline, properties: str, secret: str | None, version: str | None, schema: str | None) -> None:
        req, product = self.req, self.req.product
        args = repair_command(product, "job", config_path=objects.CONFIG_PATH, schema_path=objects.SCHEMA_PATH if schema else None,
                              coordinator=req.coordinator, no_backup=req.no_backup, no_scaling=req.no_scaling, ru=req.ru,
                              extra_args=req.extra_args)
        image = f"{req.image or default_image(product)}:{version}"
        body = objects.job(self.name, req.release, image=image, args=args, with_schema=schema is not None, secret_name=secret,
                           schema_type=product if uses_scalardl_image(product, "job") else None,
                           pod_annotations=req.pod_annotations, image_pull_secrets=req.image_pull_secrets)
        self.result.job_name, self.result.image, self.result.args = self.name, image, args
        if req.check_mode:
            self.result.changed = True
            return
        runner = self._kube()
        runner.delete_job(self.name, deadline)
        self.result.changed = True
        owned = [("Secret", objects.properties_secret(self.name, req.release, properties))]
        if schema is not None:
            owned.append(("ConfigMap", objects.schema_configmap(self.name, req.release, schema)))
        for kind, obj in owned:
            # deleted first: the garbage collector may still remove the previous run's copy (owned by the old Job)
            runner.delete(kind, obj["metadata"]["name"])
            runner.replace_object(kind, obj)
        created = runner.create_job(body)
        for kind, obj in owned:
            runner.adopt(kind, obj["metadata"]["name"], created)
        self._follow(deadline)

    def _run_local(self, deadline: Deadline, properties: str, secret: str | None, schema: str | None) -> None:
        req = self.req

        def build(config_path: str, schema_path: str | None) -> list[str]:
            return repair_command(req.product, "local", config_path=config_path, schema_path=schema_path, coordinator=req.coordinator,
                                  no_backup=req.no_backup, no_scaling=req.no_scaling, ru=req.ru, extra_args=req.extra_args)

        if req.check_mode:
            self.result.args = build(f"<tmp>/{objects.CONFIG_FILE}", f"<tmp>/{objects.SCHEMA_FILE}" if schema else None)
            self.result.changed = True
            return
        env = self._kube().read_secret_env(secret) if secret else {}
        self.result.changed = True
        args, outcome = run_local(req.java_path, str(req.schema_loader_jar), build, properties=properties, schema=schema, env=env,
                                  timeout=deadline.remaining())
        self.result.args = args
        self.result.status = outcome.status
        self.result.log_tail = mask_secrets(tail(outcome.output, req.log_lines))
        if outcome.status == "timed_out":
            raise self._error(f"Schema Loader (java -jar {req.schema_loader_jar}) did not finish within {req.wait_timeout}s and was "
                              f"stopped. Last log lines:\n{self.result.log_tail}")
        if outcome.status == "failed":
            raise self._error(f"Schema Loader (java -jar {req.schema_loader_jar}) failed (exit {outcome.exit_code}). "
                              f"Last {req.log_lines} log lines:\n{self.result.log_tail}")

    # ---- waiting, logs, cleanup ----------------------------------------------------------------
    def _left(self, deadline: Deadline) -> float:
        if deadline.expired():
            self.result.status = "timed_out"
            raise self._error(f"the repair of {self.req.namespace}/{self.req.release} ran out of time (wait_timeout "
                              f"{self.req.wait_timeout}s) before Job {self.name} started")
        return deadline.remaining()

    def _follow(self, deadline: Deadline) -> None:
        req, runner, where = self.req, self._kube(), f"{self.req.namespace}/{self.name}"
        if not req.wait:
            self.result.status = "running"
            return
        outcome = runner.wait(self.name, deadline)
        job = outcome.job
        pods = runner.pods(job) if job is not None else []
        if job is not None:
            containers = job.spec.template.spec.containers or []
            self.result.args = list(containers[0].args or []) if containers else self.result.args
            container = containers[0].name if containers else None
            self.result.log_tail = mask_secrets(runner.log_tail(pods[-1], container, req.log_lines)) if pods else ""
        self.result.status = outcome.status
        pod_state = f"; pod {runner.describe_pod(pods[-1])}" if pods else "; no pod yet"
        if outcome.status == "succeeded":
            if req.cleanup:
                self._cleanup(runner)
            return
        if outcome.status == "failed":
            raise self._error(f"Schema Loader Job {where} failed ({outcome.reason}: {outcome.message}){mask_secrets(pod_state)}. "
                              f"Last {req.log_lines} log lines:\n{self.result.log_tail or '(no log)'}")
        trouble = f"; {outcome.message}" if outcome.message else ""
        raise self._error(f"Schema Loader Job {where} did not finish within wait_timeout {req.wait_timeout}s{pod_state}{trouble}. "
                          f"It is left running: kubectl -n {req.namespace} logs job/{self.name}. "
                          f"Last log lines:\n{self.result.log_tail or '(no log)'}")

    def _cleanup(self, runner: JobRunner) -> None:
        if self.method == "chart":
            self.helm.uninstall(self.name, self.req.namespace, timeout=CLEANUP_TIMEOUT)
        else:
            runner.delete_job(self.name, Deadline(CLEANUP_TIMEOUT))
            runner.delete("Secret", objects.properties_secret_name(self.name))
            runner.delete("ConfigMap", objects.schema_configmap_name(self.name))
        self.result.cleaned_up = True
