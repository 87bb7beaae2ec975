"""Authorization the stand-in can be told to refuse, and the review kinds clients ask it about.

By default everything is allowed (the kubeconfig's user is a cluster admin). A test can deny
(verb, group, resource[/subresource], namespace) combinations through ``POST /_standin/deny``:
matching requests are then refused with 403 Forbidden worded like the real RBAC authorizer, and
``SelfSubjectAccessReview`` (``kubectl auth can-i``, preflight checks) answers ``allowed: false``
for them, so permission checks can be tested both ways.
"""
from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError

USER = "standin-admin"


@dataclass(frozen=True)
class Deny:
    """A refused combination; empty fields match anything."""

    verb: str = ""
    group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""

    def matches(self, verb: str, group: str, resource: str, subresource: str, namespace: str) -> bool:
        pairs = ((self.verb, verb), (self.group, group), (self.resource, resource), (self.subresource, subresource),
                 (self.namespace, namespace))
        return all(want in ("", "*", have) for want, have in pairs)


@dataclass
class Authorizer:
    rules: list[Deny] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def deny(self, spec: dict[str, Any]) -> Deny:
        resource, _sep, subresource = str(spec.get("resource", "")).partition("/")
        rule = Deny(verb=str(spec.get("verb", "")), group=str(spec.get("group", "")), resource=resource,
                    subresource=str(spec.get("subresource", subresource)), namespace=str(spec.get("namespace", "")))
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def allowed(self, verb: str, group: str, resource: str, subresource: str = "", namespace: str = "") -> bool:
        with self.lock:
            return not any(rule.matches(verb, group, resource, subresource, namespace) for rule in self.rules)

    def check(self, verb: str, group: str, resource: str, subresource: str, namespace: str, name: str) -> None:
        """Raise 403 Forbidden like the RBAC authorizer when a deny rule matches."""
        if self.allowed(verb, group, resource, subresource, namespace):
            return
        target = f"{resource}.{group}" if group else resource
        what = f'{target} "{name}"' if name else target
        full = f"{resource}/{subresource}" if subresource else resource
        where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
        raise ApiError(403, "Forbidden", f'{what} is forbidden: User "{USER}" cannot {verb} resource "{full}" in API group '
                       f'"{group}"{where}', {"name": name, "group": group, "kind": resource})

    def review(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """The answer to a create of a review kind: the request back, with its status filled in."""
        answer = copy.deepcopy(body)
        answer.setdefault("metadata", {})
        spec = answer.get("spec") or {}
        if kind == "SelfSubjectReview":
            answer["status"] = {"userInfo": {"username": USER, "groups": ["system:masters", "system:authenticated"]}}
        elif kind == "SelfSubjectRulesReview":
            answer["status"] = {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}], "incomplete": False}
        else:
            attrs = spec.get("resourceAttributes")
            allowed = attrs is None or self.allowed(attrs.get("verb", ""), attrs.get("group", ""), attrs.get("resource", ""),
                                                    attrs.get("subresource", ""), attrs.get("namespace", ""))
            answer["status"] = {"allowed": allowed}
            if not allowed:
                answer["status"]["reason"] = "denied by a stand-in deny rule"
        return answer
