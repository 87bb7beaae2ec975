# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Deterministic names within a length limit, shared by every backend's naming rules."""

from __future__ import annotations

import hashlib


def fit_within(base: str, suffix: str, limit: int, hash_chars: int, trim: str = "") -> str:
    """``base + suffix`` within ``limit`` characters.

    A ``base`` too long is cut and ``-<hash of the whole base>`` added before ``suffix``, so two long
    names that share a beginning stay distinct and a re-run computes the same name.  ``trim``
    characters are stripped from the end of the cut (RDS refuses "--").
    """
    if len(base) + len(suffix) <= limit:
        return base + suffix
    digest = hashlib.sha256(base.encode("utf-8")).hexdigest()[:hash_chars]
    keep = limit - len(suffix) - len(digest) - 1
    cut = base[:keep].rstrip(trim) if trim else base[:keep]
    return f"{cut}-{digest}{suffix}"
