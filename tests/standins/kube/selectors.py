"""Label selectors (``=``, ``==``, ``!=``, ``in``, ``notin``, exists, ``!key``) and field selectors.

Field selectors are evaluated generically on the dotted path (``metadata.name``,
``status.phase``, ``involvedObject.uid``, ``spec.nodeName``...), which covers what the real API
server supports per kind and more.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

_SET_RE = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\((.*)\)\s*$")


class SelectorError(ValueError):
    """An unparsable selector (answered with 400 BadRequest)."""


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!exists"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        return not present or value not in self.values  # "!=" and "notin"


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside ``( )`` (``a in (x,y),b`` is two requirements)."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text: str | None) -> list[Requirement]:
    reqs: list[Requirement] = []
    for part in _split_top_level(text or ""):
        match = _SET_RE.match(part)
        if match:
            values = tuple(v.strip() for v in match.group(3).split(",") if v.strip())
            reqs.append(Requirement(match.group(1), match.group(2), values))
        elif "!=" in part:
            key, value = part.split("!=", 1)
            reqs.append(Requirement(key.strip(), "!=", (value.strip(),)))
        elif "=" in part:
            key, value = re.split(r"==?", part, maxsplit=1)
            reqs.append(Requirement(key.strip(), "=", (value.strip(),)))
        elif part.startswith("!"):
            reqs.append(Requirement(part[1:].strip(), "!exists"))
        elif re.fullmatch(r"[A-Za-z0-9_./-]+", part):
            reqs.append(Requirement(part, "exists"))
        else:
            raise SelectorError(f"unable to parse requirement: {part!r}")
    return reqs


def selector_string(selector: dict[str, Any] | None) -> str:
    """``matchLabels`` rendered the way Scale.status.selector shows it."""
    parts = [f"{k}={v}" for k, v in sorted(((selector or {}).get("matchLabels") or {}).items())]
    for expr in (selector or {}).get("matchExpressions") or []:
        op = expr["operator"]
        if op in ("In", "NotIn"):
            parts.append(f"{expr['key']} {op.lower()} ({','.join(expr.get('values') or [])})")
        else:
            parts.append(expr["key"] if op == "Exists" else "!" + expr["key"])
    return ",".join(parts)


def field_value(obj: dict[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_field_selector(text: str | None) -> list[tuple[str, str, str]]:
    out = []
    for part in _split_top_level(text or ""):
        if "!=" in part:
            key, value = part.split("!=", 1)
            out.append((key.strip(), "!=", value.strip()))
        elif "=" in part:
            key, value = re.split(r"==?", part, maxsplit=1)
            out.append((key.strip(), "=", value.strip()))
        else:
            raise SelectorError(f"invalid field selector: {part!r}")
    return out


def make_filter(label_selector: str | None, field_selector: str | None) -> Callable[[dict[str, Any]], bool]:
    """One predicate for both selectors (raises SelectorError on bad syntax)."""
    labels = parse_label_selector(label_selector)
    fields = parse_field_selector(field_selector)

    def matches(obj: dict[str, Any]) -> bool:
        obj_labels = (obj.get("metadata") or {}).get("labels") or {}
        if not all(req.matches(obj_labels) for req in labels):
            return False
        for path, op, value in fields:
            if (field_value(obj, path) == value) != (op == "="):
                return False
        return True

    return matches
