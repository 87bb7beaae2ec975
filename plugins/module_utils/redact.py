# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Mask values of secret-looking ``key=value`` / ``key: value`` pairs in text we return or log.

Properties may carry literal credentials (``scalar.db.password=...``) and tools echo their
configuration or command lines in logs and errors; anything the collection passes on from them
goes through :func:`mask_secrets` first. ``${env:NAME}`` placeholders are kept: they name where a
secret comes from, not the secret.
"""

from __future__ import annotations

import re

MASK = "********"

# A key containing one of these words, then "=" or ":", then the value up to the end of the token.
_SECRET_PAIR = re.compile(
    r"(?P<key>[\w.\-]*(?:password|passwd|secret|token|credential|access[._\-]?key|account[._\-]?key|private[._\-]?key|api[._\-]?key)[\w.\-]*)"
    r"(?P<sep>\s*[=:]\s*)"
    r"(?P<value>\{\{[^}]*\}\}|[^\s,;\"']+)",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(r"^\$\{env:[^}]+\}$|^\{\{[^}]*\}\}$")


def _mask(match: re.Match[str]) -> str:
    value = match.group("value")
    if _PLACEHOLDER.match(value):
        return match.group(0)
    return f"{match.group('key')}{match.group('sep')}{MASK}"


def mask_secrets(text: str | None) -> str:
    """``text`` with the values of secret-looking pairs replaced by ``********``."""
    if not text:
        return text or ""
    return _SECRET_PAIR.sub(_mask, text)
