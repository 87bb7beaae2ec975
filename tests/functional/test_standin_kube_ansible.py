"""kubernetes.core modules, run by a real ansible-playbook, against the Kubernetes fixture.

The playbook does what the restore roles do: install a release, scale it in through helm with
``release_values`` + ``reuse_values: true`` + ``reset_values: false``, read it back with
``helm_info`` and ``k8s_info``, scale with ``k8s_scale`` and wait for conditions, and manage
objects with ``k8s`` (apply and absent). It asserts as it goes; the test then checks the outcome
through helm and the Python client.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml
from kubernetes import client

from fixtures.common import VENV_BIN
from fixtures.kube import KubeTarget

CHART = Path(__file__).parent / "charts" / "standin-app"

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    deployment: r1-standin-app
  module_defaults:
    kubernetes.core.helm: {binary_path: "{{ helm_bin }}", release_namespace: "{{ ns }}"}
    kubernetes.core.helm_info: {binary_path: "{{ helm_bin }}", release_namespace: "{{ ns }}"}
  tasks:
    - name: Install the release
      kubernetes.core.helm:
        name: r1
        chart_ref: "{{ chart }}"
        create_namespace: true
        release_values: {replicaCount: 2}
        wait: true
        wait_timeout: 120s

    - name: Read the Deployment by the release label
      kubernetes.core.k8s_info:
        kind: Deployment
        namespace: "{{ ns }}"
        label_selectors: ["app.kubernetes.io/instance=r1"]
      register: found
    - ansible.builtin.assert:
        that:
          - found.resources | length == 1
          - found.resources[0].status.readyReplicas == 2

    - name: Scale in through helm, keeping every other value
      kubernetes.core.helm:
        name: r1
        chart_ref: "{{ chart }}"
        release_values: {replicaCount: 0}
        reuse_values: true
        reset_values: false
        wait: true
        wait_timeout: 120s
      register: scaled_in
    - name: The same again changes nothing
      kubernetes.core.helm:
        name: r1
        chart_ref: "{{ chart }}"
        release_values: {replicaCount: 0}
        reuse_values: true
        reset_values: false
      register: again
    - kubernetes.core.helm_info:
        name: r1
      register: info
    - ansible.builtin.assert:
        that:
          - scaled_in is changed
          - again is not changed
          - info.status.release_values.replicaCount == 0
          - info.status.release_values | length == 1
          - info.status.status == "deployed"
          - info.status.revision | int == 2

    - name: Apply a ConfigMap twice
      kubernetes.core.k8s:
        state: present
        apply: true
        definition:
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: restore-report, namespace: "{{ ns }}", labels: {pitr: report}}
          data: {step: "{{ item }}"}
      loop: [prepare, cutover]
    - kubernetes.core.k8s_info:
        kind: ConfigMap
        namespace: "{{ ns }}"
        label_selectors: ["pitr=report"]
      register: reports
    - ansible.builtin.assert:
        that:
          - reports.resources | map(attribute='data.step') | list == ["cutover"]

    - name: Scale out with k8s_scale and wait
      kubernetes.core.k8s_scale:
        kind: Deployment
        name: "{{ deployment }}"
        namespace: "{{ ns }}"
        replicas: 3
        wait: true
        wait_timeout: 120
    - name: Wait until Available
      kubernetes.core.k8s_info:
        kind: Deployment
        name: "{{ deployment }}"
        namespace: "{{ ns }}"
        wait: true
        wait_condition: {type: Available, status: "True"}
        wait_timeout: 120
      register: available
    - ansible.builtin.assert:
        that:
          - available.resources[0].status.readyReplicas == 3

    - name: Remove the ConfigMap
      kubernetes.core.k8s:
        state: absent
        kind: ConfigMap
        name: restore-report
        namespace: "{{ ns }}"
        wait: true

    - name: A CloudNativePG Cluster through the dynamic client
      when: cnpg | bool
      block:
        - kubernetes.core.k8s:
            state: present
            definition:
              apiVersion: postgresql.cnpg.io/v1
              kind: Cluster
              metadata: {name: pg-restored, namespace: "{{ ns }}"}
              spec:
                instances: 1
                bootstrap: {recovery: {source: origin}}
        - kubernetes.core.k8s_info:
            api_version: postgresql.cnpg.io/v1
            kind: Cluster
            namespace: "{{ ns }}"
          register: clusters
        - ansible.builtin.assert:
            that:
              - clusters.resources | map(attribute='metadata.name') | list == ["pg-restored"]
"""


def test_kubernetes_core_modules(kube: KubeTarget, helm_bin: str, kube_name: str, tmp_path: Path) -> None:
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(PLAYBOOK)
    extra = {"chart": str(CHART), "ns": kube_name, "helm_bin": helm_bin, "cnpg": kube.is_standin,
             "ansible_python_interpreter": sys.executable}
    quiet = {"ANSIBLE_LOCALHOST_WARNING": "False", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
             "ANSIBLE_DEPRECATION_WARNINGS": "False", "ANSIBLE_NOCOLOR": "1"}
    kube.run(str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook), "-e", json.dumps(extra),
             env=quiet, timeout=300)

    values = yaml.safe_load(kube.run(helm_bin, "get", "values", "r1", "-n", kube_name, "-o", "yaml").stdout)
    assert values == {"replicaCount": 0}
    dep = client.AppsV1Api(kube.api_client()).read_namespaced_deployment("r1-standin-app", kube_name)
    assert dep.spec.replicas == 3 and dep.status.ready_replicas == 3
