"""Fetching one resource of the caller's workspace by its public id.

A malformed id, an id of another type and another workspace's resource are all 404: the API
never tells a caller that something exists outside its workspace.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from app.errors import NotFound
from models.ids import is_id
from models.workspaces import Workspace

T = TypeVar("T")


def find_in_workspace(
    row_in_workspace: Callable[[str, str], T | None],
    prefix: str,
    public_id: str,
    workspace: Workspace,
    noun: str,
) -> T:
    """What `row_in_workspace(workspace.id, public_id)` finds, or `NotFound`.

    An id that is not one of `prefix` is not looked up.
    """
    if is_id(public_id, prefix):
        row = row_in_workspace(workspace.id, public_id)
        if row is not None:
            return row
    raise NotFound(f"no {noun} with id {public_id!r} in this workspace")
