# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Thin helpers shared by the DynamoDB code: the call wrapper and pagination.

Every function that talks to AWS takes the boto3 client(s) it needs and a ``call`` wrapper, so a
module can pass a retrying wrapper (``retrying(func, *args, **kwargs)`` with throttling backoff)
and tests can pass nothing (``direct``).  Nothing here imports boto3: the code only needs objects
that behave like boto3 clients (error codes: ``aws_client.error_code``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

# call(func, *args, **kwargs) -> func's result, possibly retried.
Call = Callable[..., Any]


def direct(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """The default ``call``: run the API call once."""
    return func(*args, **kwargs)


def pages(call: Call, func: Callable[..., Any], token_in: str, token_out: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every page of a paginated API; each page goes through ``call`` so retries apply per page.

    ``token_in``/``token_out`` differ per API (``ExclusiveStartKey``/``LastEvaluatedKey`` for Scan,
    ``ExclusiveStartTableName``/``LastEvaluatedTableName`` for ListTables, ``NextToken`` elsewhere).
    """
    request = dict(kwargs)
    while True:
        page = call(func, **request)
        yield page
        token = page.get(token_out)
        if not token:
            return
        request[token_in] = token


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in slices of at most ``size`` (APIs cap list arguments, e.g. 50 tags per call)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]
