"""Field checks that collect every problem of a document before it is refused once.

`Problems` gathers `{field, message}` pairs. `Fields` checks the members of one JSON object (a
request body, a query string, a step of a definition); each check returns the value when it is
good and `None` (with a problem noted) when it is not or absent and optional, so callers go on
and find the rest.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from typing import Any

from models.base import moment_of
from models.errors import InvalidFields

#: A member that was not given; distinct from a JSON null, which is a wrong type.
MISSING: Any = object()


class Problems:
    """The bad fields of one document, in the order they were found."""

    def __init__(self) -> None:
        self.fields: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.fields.append({"field": field, "message": message})

    def raise_if_any(self, message: str = "the request is invalid") -> None:
        if self.fields:
            raise InvalidFields(message, self.fields)


def is_int(value: Any) -> bool:
    """A JSON integer (`true` is a bool, not an integer)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Fields:
    """Checks of the members of `obj`, reported as `<prefix><name>` (`steps[2].handler`)."""

    def __init__(self, problems: Problems, obj: Mapping[str, Any], prefix: str = "") -> None:
        self.problems = problems
        self.obj = obj
        self.prefix = prefix

    def path(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def add(self, name: str, message: str) -> None:
        self.problems.add(self.path(name), message)

    def only(self, allowed: Iterable[str]) -> None:
        """Note each member that is not in `allowed`."""
        allowed = frozenset(allowed)
        for name in self.obj:
            if name not in allowed:
                self.add(name, "unknown field")

    def string(
        self,
        name: str,
        *,
        min_length: int = 1,
        max_length: int | None = None,
        pattern: re.Pattern[str] | None = None,
        required: bool = True,
    ) -> str | None:
        value = self._present(name, required)
        if value is MISSING:
            return None
        if not isinstance(value, str):
            return self._bad(name, "must be a string")
        if len(value) < min_length:
            return self._bad(name, f"must be at least {min_length} characters")
        if max_length is not None and len(value) > max_length:
            return self._bad(name, f"must be at most {max_length} characters")
        if pattern is not None and not pattern.fullmatch(value):
            return self._bad(name, f"must match {pattern.pattern}")
        return value

    def integer(
        self,
        name: str,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
        required: bool = True,
    ) -> int | None:
        value = self._present(name, required)
        if value is MISSING:
            return None
        if not is_int(value):
            return self._bad(name, "must be an integer")
        return self._in_range(name, value, minimum, maximum)

    def number(
        self,
        name: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        required: bool = True,
    ) -> float | None:
        value = self._present(name, required)
        if value is MISSING:
            return None
        if not is_number(value):
            return self._bad(name, "must be a number")
        return self._in_range(name, value, minimum, maximum)

    def choice(self, name: str, choices: Iterable[str], *, required: bool = True) -> str | None:
        choices = tuple(choices)
        value = self._present(name, required)
        if value is MISSING:
            return None
        if not isinstance(value, str) or value not in choices:
            return self._bad(name, "must be one of " + ", ".join(choices))
        return value

    def moment(self, name: str, *, required: bool = True) -> datetime.datetime | None:
        """An ISO-8601 timestamp or date, as a naive UTC datetime (`models.base.moment_of`)."""
        value = self._present(name, required)
        if value is MISSING:
            return None
        moment = moment_of(value) if isinstance(value, str) else None
        if moment is None:
            return self._bad(
                name, "must be an ISO-8601 timestamp or date, e.g. 2026-11-28T21:40:32Z"
            )
        return moment

    def object(self, name: str, *, required: bool = True) -> dict | None:
        value = self._present(name, required)
        if value is MISSING:
            return None
        if not isinstance(value, dict):
            return self._bad(name, "must be an object")
        return value

    def _present(self, name: str, required: bool) -> Any:
        value = self.obj.get(name, MISSING)
        if value is MISSING and required:
            self.add(name, "is required")
        return value

    def _bad(self, name: str, message: str) -> None:
        self.add(name, message)
        return None

    def _in_range(self, name: str, value: Any, minimum: Any, maximum: Any) -> Any:
        if minimum is not None and value < minimum:
            return self._bad(name, f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            return self._bad(name, f"must be at most {maximum}")
        return value
