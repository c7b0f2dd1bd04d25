"""Fetching one resource of the caller's workspace by its public id.

A malformed id, an id of another type and another workspace's resource are all 404: the API
never tells a caller that something exists outside its workspace.
"""

from __future__ import annotations

from typing import TypeVar

import peewee

from app.errors import NotFound
from models.ids import is_id
from models.workspaces import Workspace

M = TypeVar("M", bound=peewee.Model)


def find_in_workspace(
    model: type[M],
    prefix: str,
    public_id: str,
    workspace: Workspace,
    noun: str,
    query: peewee.ModelSelect | None = None,
) -> M:
    """The row of `model` with `public_id` in `workspace`, or `NotFound`.

    `query` may select more (a join); it must select from `model`.
    """
    if is_id(public_id, prefix):
        base = query if query is not None else model.select()
        row = base.where((model.id == public_id) & (model.workspace == workspace.id)).first()
        if row is not None:
            return row
    raise NotFound(f"no {noun} with id {public_id!r} in this workspace")
