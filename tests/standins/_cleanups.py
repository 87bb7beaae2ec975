"""Per-test cleanups of what a test created on a target (stand-in or real account)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Cleanups:
    """Deferred calls run when the test ends: last registered, first run, all of them."""

    def __init__(self) -> None:
        self._calls: list[Callable[[], Any]] = []

    def defer(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``func(*args, **kwargs)`` when the test ends."""
        self._calls.append(lambda: func(*args, **kwargs))

    def run(self) -> list[Exception]:
        """Run every deferred call even if some fail (so nothing else is left behind); return the failures."""
        failures: list[Exception] = []
        while self._calls:
            try:
                self._calls.pop()()
            except Exception as exc:  # pylint: disable=broad-exception-caught  # report all, stop none
                failures.append(exc)
        return failures

    def run_or_raise(self, what: str) -> None:
        """Run every deferred call; raise one ExceptionGroup naming ``what`` if any failed."""
        failures = self.run()
        if failures:
            raise ExceptionGroup(f"{what} cleanup failed: resources may be left behind", failures)
