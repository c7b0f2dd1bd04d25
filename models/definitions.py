"""Workflow definitions: immutable, versioned lists of steps."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import peewee

from models.base import BaseModel, utcnow
from models.workspaces import Workspace


class WorkflowDefinition(BaseModel):
    workspace = peewee.ForeignKeyField(Workspace, backref="definitions", on_delete="CASCADE")
    name = peewee.CharField(max_length=200)
    version = peewee.CharField(max_length=50)
    description = peewee.TextField(null=True)
    steps = peewee.JSONField()
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("workspace", "name", "version"), True),)


#: Definitions each process keeps in memory, least recently used out first.
CACHE_SIZE = 1024


@dataclass(frozen=True)
class Definition:
    """What creating and running a run read of a definition, as each process caches it."""

    id: str
    workspace_id: str
    name: str
    version: str
    steps: tuple[dict, ...]


@functools.lru_cache(maxsize=CACHE_SIZE)
def definition_by_id(definition_id: str) -> Definition:
    """A definition, read once per process: definitions are immutable, so caching is safe.

    Raises `WorkflowDefinition.DoesNotExist` when there is none (a miss is not cached).
    """
    workspace_id, name, version, steps = (
        WorkflowDefinition.select(
            WorkflowDefinition.workspace,
            WorkflowDefinition.name,
            WorkflowDefinition.version,
            WorkflowDefinition.steps,
        )
        .where(WorkflowDefinition.id == definition_id)
        .tuples()
        .get()
    )
    return Definition(definition_id, workspace_id, name, version, tuple(steps))


def definition_steps(definition_id: str) -> tuple[dict, ...]:
    """The steps of a definition, from this process's cache."""
    return definition_by_id(definition_id).steps


def definition_in_workspace(workspace_id: str, definition_id: str) -> WorkflowDefinition | None:
    """The definition with this id in the workspace; None when it has none."""
    return (
        WorkflowDefinition.select()
        .where(
            (WorkflowDefinition.id == definition_id)
            & (WorkflowDefinition.workspace == workspace_id)
        )
        .first()
    )
