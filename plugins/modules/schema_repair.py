#!/usr/bin/python
# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Run Schema Loader --repair-all for a ScalarDB or ScalarDL release after a restore."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: schema_repair
short_description: Run Scalar Schema Loader with --repair-all for a ScalarDB or ScalarDL release
version_added: 0.1.0
description:
  - Re-runs Schema Loader with C(--repair-all) against the database a Scalar release points at,
    as the restore procedures require after a point-in-time restore (for example Cosmos DB, where a
    restore does not bring back the C(mutate.js) stored procedure; Schema Loader also re-creates
    missing metadata and fixes indexing policies).
  - V(chart) (default for ScalarDL Ledger and Auditor) installs the schema-loading chart of
    scalar-labs/helm-charts as a helm release, with C(schemaLoading.commandArgs) holding
    C(--repair-all) and C(schemaLoading.schemaType) the product; the chart adds C(--config) and,
    for Ledger, C(--coordinator).
  - V(job) (default for ScalarDB and ScalarDB Cluster) creates a Kubernetes Job running the Schema
    Loader image, with the properties in a Secret, the schema file in a ConfigMap (both owned by
    the Job) and the release's Secret as environment variables, so C(${env:NAME}) placeholders in
    the properties resolve as in the product's pods.
  - V(local) runs a Schema Loader jar on the control node with C(java -jar); the release Secret's
    keys are passed as environment variables. It always waits.
  - The Job (and helm release) is called O(job_name), by default C(<release>-schema-repair). A
    previous run of that name is removed first (a Job cannot be changed once created), so
    re-running the task from any machine replaces it rather than failing.
  - The module waits until the Job completes or fails. On failure (or timeout) the error includes the
    last O(log_lines) lines of the Job's log; the Job is left in place for inspection.
  - Properties and Secret values are never returned. Values of secret-looking keys (passwords,
    keys, tokens) are masked in the returned log tail and in error messages.
  - A repair always reports C(changed=true) when it runs (and in check mode); it cannot know
    whether anything needed repairing.
  - "Istio: a Job pod with an injected sidecar never completes (the sidecar keeps running). With
    O(method=job) set O(pod_annotations) to C({sidecar.istio.io/inject: 'false'}); the
    schema-loading chart offers no pod annotations, so with O(method=chart) disable injection for
    the namespace or use O(method=job)."
author:
  - scalarops.pitr developers (@scalarops)
requirements:
  - kubernetes (Python library) for O(method=job) and O(method=chart), and for O(method=local) with a Secret
  - helm 3.8+ or helm 4 for O(method=chart), or to read properties, Secret name or version from the release
  - a Java runtime and the Schema Loader jar for O(method=local)
options:
  release:
    description: The Scalar release whose database is repaired.
    type: dict
    required: true
    suboptions:
      name:
        description: Helm release name of the product.
        type: str
        required: true
      namespace:
        description: Namespace of the release; the Job runs there too.
        type: str
        default: default
      product:
        description: Which Scalar product the release deploys.
        type: str
        required: true
        choices: [scalardb, scalardb_cluster, ledger, auditor]
  method:
    description:
      - How to run Schema Loader. Default V(chart) for V(ledger)/V(auditor), V(job) for V(scalardb)/V(scalardb_cluster).
      - V(chart) is for ScalarDL only.
    type: str
    choices: [chart, job, local]
  job_name:
    description:
      - Name of the Job and, with O(method=chart), of the helm release (53 characters at most).
      - Default C(<release.name>-schema-repair), shortened with a stable hash when too long.
    type: str
  database_properties:
    description:
      - The Java properties Schema Loader connects with (C(scalar.db.storage), C(scalar.db.contact_points), ...).
      - Default the release's own properties (C(ledger.ledgerProperties), C(auditor.auditorProperties),
        C(scalardb.databaseProperties) or C(scalardbCluster.scalardbClusterNodeProperties)), read with C(helm get values).
      - Prefer C(${env:NAME}) placeholders for credentials, with the values in O(secret_name).
    type: str
  secret_name:
    description:
      - Secret whose keys become environment variables of Schema Loader (C(envFrom)).
      - Default the release's C(<values key>.secretName); an empty string means none.
    type: str
  schema:
    description:
      - The ScalarDB schema file (a dict, or a JSON string), required by C(--repair-all) for
        V(scalardb)/V(scalardb_cluster) and with O(method=local).
      - Ignored for ScalarDL with O(method=chart) or O(method=job), whose image brings the Ledger or Auditor schema.
    type: raw
  coordinator:
    description:
      - ScalarDB only. Also repair the Consensus Commit coordinator tables (C(--coordinator)); a restore brings
        them back too, and on Cosmos DB they lose their stored procedure as well.
      - For ScalarDL it follows the product, as the chart does (Ledger yes, Auditor no).
    type: bool
    default: true
  no_backup:
    description: Pass C(--no-backup) (DynamoDB; do not enable continuous backup).
    type: bool
    default: false
  no_scaling:
    description: Pass C(--no-scaling) (DynamoDB, Cosmos DB; do not set up auto-scaling).
    type: bool
    default: false
  ru:
    description: Base resource/request units (C(--ru)) for DynamoDB and Cosmos DB.
    type: int
  extra_args:
    description:
      - More Schema Loader arguments, appended as given (for example C(--replication-tables)).
      - Other modes (C(--delete-all), C(--alter), C(--import), C(--upgrade)) and options the module sets
        (C(--config), C(-f), C(--repair-all)) are refused.
    type: list
    elements: str
    default: []
  pod_annotations:
    description:
      - Annotations for the Job's pod (O(method=job) only), for example C(sidecar.istio.io/inject=false).
    type: dict
    default: {}
  image_pull_secrets:
    description: Names of Secrets to pull the Schema Loader image with.
    type: list
    elements: str
    default: []
  schema_loader_image:
    description:
      - Schema Loader image repository. Default C(ghcr.io/scalar-labs/scalardb-schema-loader) for ScalarDB
        (and Cluster), C(ghcr.io/scalar-labs/scalardl-schema-loader) for ScalarDL.
    type: str
  schema_loader_version:
    description:
      - Image tag. Default the release's app version (the ScalarDB or ScalarDL version it runs), from C(helm list).
      - With O(method=chart) and no version known, the chart's default image tag is used.
    type: str
  chart_ref:
    description:
      - The schema-loading chart for O(method=chart), as a repository reference (add the repository with
        C(helm repo add scalar-labs https://scalar-labs.github.io/helm-charts)), a path, or an OCI reference.
    type: str
    default: scalar-labs/schema-loading
  chart_version:
    description: Version of the schema-loading chart; default the latest.
    type: str
  chart_repo_url:
    description: Chart repository URL (C(helm install --repo)), instead of a repository added beforehand.
    type: str
  wait:
    description:
      - Wait until the Job completes or fails. With V(false) the module returns once the Job exists
        (RV(status=running)); O(method=local) always waits.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds for the whole repair, from removing a previous run to the end of the Job.
      - When they run out the module fails naming the Job, which is left running.
    type: int
    default: 600
  cleanup:
    description:
      - After a successful repair, delete the Job (with its Secret and ConfigMap) or uninstall the chart release.
      - A failed or timed-out run is always kept for inspection; the next run replaces it.
    type: bool
    default: false
  log_lines:
    description: How many lines of the Job's log to return and to put in error messages.
    type: int
    default: 50
  binary_path:
    description: Path of the helm binary (helm 3 or 4); default C(helm) from C(PATH).
    type: path
  java_path:
    description: The C(java) command for O(method=local).
    type: path
    default: java
  schema_loader_jar:
    description: Path of the Schema Loader jar on the control node, for O(method=local).
    type: path
extends_documentation_fragment:
  - scalarops.pitr.k8s_auth
attributes:
  check_mode:
    support: full
    description: Reports the Job or helm release that would run and its arguments; creates nothing.
  diff_mode:
    support: none
    description: A repair has no before and after state to compare.
"""

EXAMPLES = r"""
- name: Repair the Ledger schema after a Cosmos DB restore (schema-loading chart)
  scalarops.pitr.schema_repair:
    release:
      name: scalardl-ledger
      namespace: scalardl
      product: ledger
  register: repair

- name: Repair a ScalarDB Cluster schema with a Job, with explicit properties
  scalarops.pitr.schema_repair:
    release: {name: scalardb-cluster, namespace: scalardb, product: scalardb_cluster}
    database_properties: |
      scalar.db.storage=cosmos
      scalar.db.contact_points=https://restored-account.documents.azure.com:443/
      scalar.db.password=${env:SCALAR_DB_COSMOS_KEY}
    secret_name: scalardb-credentials
    schema: "{{ lookup('ansible.builtin.file', 'schema.json') }}"
    pod_annotations:
      sidecar.istio.io/inject: "false"
    cleanup: true

- name: Repair a DynamoDB-backed ScalarDB without re-enabling backups, from the control node
  scalarops.pitr.schema_repair:
    release: {name: scalardb, namespace: scalardb, product: scalardb}
    method: local
    schema_loader_jar: /opt/scalardb/scalardb-schema-loader-3.18.1.jar
    schema: "{{ lookup('ansible.builtin.file', 'schema.json') }}"
    no_backup: true
"""

RETURN = r"""
method:
  description: How Schema Loader ran, V(chart), V(job) or V(local).
  returned: always
  type: str
  sample: job
product:
  description: The product of the release.
  returned: always
  type: str
  sample: scalardb_cluster
release:
  description: Name of the Scalar release.
  returned: always
  type: str
  sample: scalardb-cluster
namespace:
  description: Namespace of the release and of the Job.
  returned: always
  type: str
  sample: scalardb
job_name:
  description: Name of the Job (also the helm release with O(method=chart)); null with O(method=local).
  returned: always
  type: str
  sample: scalardb-cluster-schema-repair
helm_release:
  description: Name of the schema-loading helm release (O(method=chart)), else null.
  returned: always
  type: str
  sample: scalardl-ledger-schema-repair
image:
  description: The Schema Loader image that ran (null for O(method=local), or for O(method=chart) with the chart's default image).
  returned: always
  type: str
  sample: ghcr.io/scalar-labs/scalardb-schema-loader:3.18.0
args:
  description:
    - The Schema Loader arguments, read back from the Job once it ran.
    - In check mode with O(method=chart), the arguments passed as C(schemaLoading.commandArgs) (the chart adds C(--config) itself).
  returned: always
  type: list
  elements: str
  sample: ["--config", "/scalarops-pitr/config/database.properties", "-f", "/scalarops-pitr/schema/schema.json",
           "--coordinator", "--repair-all"]
status:
  description: V(succeeded), V(running) (O(wait=false)) or V(planned) (check mode); errors report V(failed) or V(timed_out).
  returned: always
  type: str
  sample: succeeded
duration:
  description: Seconds the module took.
  returned: always
  type: float
  sample: 42.3
log_tail:
  description: The last O(log_lines) lines of Schema Loader's log, secret-looking values masked.
  returned: always
  type: str
  sample: "INFO  SchemaLoader - Repairing the table ns.orders succeeded"
cleaned_up:
  description: Whether the Job (or chart release) was removed after success (O(cleanup)).
  returned: always
  type: bool
  sample: false
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.scalarops.pitr.plugins.module_utils.helm_cli import Helm
from ansible_collections.scalarops.pitr.plugins.module_utils.k8s_client import (
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
    auth_argument_spec,
    new_api_client,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.schema_repair import (
    DEFAULT_CHART_REF,
    RepairRequest,
    SchemaRepair,
    SchemaRepairError,
)

ARGUMENT_SPEC = dict(
    release=dict(type="dict", required=True, options=dict(
        name=dict(type="str", required=True),
        namespace=dict(type="str", default="default"),
        product=dict(type="str", required=True, choices=["scalardb", "scalardb_cluster", "ledger", "auditor"]),
    )),
    method=dict(type="str", choices=["chart", "job", "local"]),
    job_name=dict(type="str"),
    database_properties=dict(type="str", no_log=True),
    secret_name=dict(type="str", no_log=False),
    schema=dict(type="raw"),
    coordinator=dict(type="bool", default=True),
    no_backup=dict(type="bool", default=False),
    no_scaling=dict(type="bool", default=False),
    ru=dict(type="int"),
    extra_args=dict(type="list", elements="str", default=[]),
    pod_annotations=dict(type="dict", default={}),
    image_pull_secrets=dict(type="list", elements="str", default=[], no_log=False),
    schema_loader_image=dict(type="str"),
    schema_loader_version=dict(type="str"),
    chart_ref=dict(type="str", default=DEFAULT_CHART_REF),
    chart_version=dict(type="str"),
    chart_repo_url=dict(type="str"),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=600),
    cleanup=dict(type="bool", default=False),
    log_lines=dict(type="int", default=50),
    **auth_argument_spec(env_fallback),
    binary_path=dict(type="path"),
    java_path=dict(type="path", default="java"),
    schema_loader_jar=dict(type="path"),
)


def _request(module):
    p = module.params
    return RepairRequest(
        release=p["release"]["name"], namespace=p["release"]["namespace"], product=p["release"]["product"],
        method=p["method"], name=p["job_name"], database_properties=p["database_properties"], secret_name=p["secret_name"],
        schema=p["schema"], image=p["schema_loader_image"], version=p["schema_loader_version"], chart_ref=p["chart_ref"],
        chart_version=p["chart_version"], chart_repo_url=p["chart_repo_url"], coordinator=p["coordinator"],
        no_backup=p["no_backup"], no_scaling=p["no_scaling"], ru=p["ru"], extra_args=p["extra_args"],
        pod_annotations=p["pod_annotations"], image_pull_secrets=p["image_pull_secrets"], wait=p["wait"],
        wait_timeout=p["wait_timeout"], cleanup=p["cleanup"], log_lines=p["log_lines"], java_path=p["java_path"],
        schema_loader_jar=p["schema_loader_jar"], check_mode=module.check_mode,
    )


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    if p["wait_timeout"] <= 0:
        module.fail_json(msg="wait_timeout must be a positive number of seconds")
    if p["log_lines"] <= 0:
        module.fail_json(msg="log_lines must be a positive number of lines")

    def kube_client():
        if not HAS_KUBERNETES:
            module.fail_json(msg=missing_required_lib("kubernetes"), exception=str(KUBERNETES_IMPORT_ERROR))
        return new_api_client(p["kubeconfig"], p["context"])

    helm = Helm(binary=p["binary_path"] or module.get_bin_path("helm") or "helm", kubeconfig=p["kubeconfig"], context=p["context"])
    repair = SchemaRepair(_request(module), helm, kube_client)
    try:
        result, error = repair.run(), None
    except SchemaRepairError as exc:
        result, error = exc.result or repair.result, exc
    for warning in result.warnings:
        module.warn(warning)
    if error is not None:  # outside the except block: an expected failure, not a traceback to report
        module.fail_json(msg=str(error), **result.as_dict())
    module.exit_json(**result.as_dict())


if __name__ == "__main__":
    main()
