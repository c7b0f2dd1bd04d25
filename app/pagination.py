"""`page` and `pageSize` query parameters, and the `meta` block of every list.

A list may also be read whole: asked for with neither parameter, it answers every row up to
`WHOLE_LIST_LIMIT` on one page, and `meta.total` tells a client when there were more.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import falcon
import peewee

from models.validation import Problems

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
#: The most rows a list read whole answers with.
WHOLE_LIST_LIMIT = 1_000

_DIGITS = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class Page:
    number: int
    size: int

    @classmethod
    def from_request(cls, req: falcon.Request, problems: Problems, *, whole: bool = False) -> Page:
        """Read `page` and `pageSize`, noting bad values in `problems`.

        With `whole`, a request that names neither gets the list whole: the first
        `WHOLE_LIST_LIMIT` rows, on one page.
        """
        if whole and req.get_param("page") is None and req.get_param("pageSize") is None:
            return cls(1, WHOLE_LIST_LIMIT)
        number = _param(req, "page", 1, 1, None, problems)
        size = _param(req, "pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE, problems)
        return cls(number, size)


def paginate(
    query: peewee.ModelSelect, page: Page, render: Callable[[Any], dict]
) -> dict[str, Any]:
    """The success envelope of one page of `query` (already filtered and ordered)."""
    total = query.count()
    rows = query.paginate(page.number, page.size)
    return {
        "success": True,
        "data": [render(row) for row in rows],
        "meta": {
            "page": page.number,
            "pageSize": page.size,
            "total": total,
            "totalPages": math.ceil(total / page.size),
        },
    }


def _param(
    req: falcon.Request,
    name: str,
    default: int,
    minimum: int,
    maximum: int | None,
    problems: Problems,
) -> int:
    raw = req.get_param(name)
    if raw is None:
        return default
    value = int(raw) if _DIGITS.fullmatch(raw) else None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum else f"at least {minimum}"
        problems.add(name, f"must be an integer {bound}")
        return default
    return value
