"""Workflow definitions: immutable, versioned lists of steps; creating, finding and listing them."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import peewee

from models.base import BaseModel, utcnow
from models.db import db
from models.errors import StevoraError
from models.ids import new_id
from models.workspaces import Workspace


class DefinitionExists(StevoraError):
    """The workspace has a definition of this name and version already: a conflict (409)."""


class WorkflowDefinition(BaseModel):
    workspace = peewee.ForeignKeyField(Workspace, backref="definitions", on_delete="CASCADE")
    name = peewee.CharField(max_length=200)
    version = peewee.CharField(max_length=50)
    description = peewee.TextField(null=True)
    steps = peewee.JSONField()
    #: `{limit, key?}` (SPEC section 9), or None: runs of the definition are not limited.
    concurrency = peewee.JSONField(null=True)
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
    concurrency: dict | None = None


@functools.lru_cache(maxsize=CACHE_SIZE)
def definition_by_id(definition_id: str) -> Definition:
    """A definition, read once per process: definitions are immutable, so caching is safe.

    Raises `WorkflowDefinition.DoesNotExist` when there is none (a miss is not cached).
    """
    workspace_id, name, version, steps, concurrency = (
        WorkflowDefinition.select(
            WorkflowDefinition.workspace,
            WorkflowDefinition.name,
            WorkflowDefinition.version,
            WorkflowDefinition.steps,
            WorkflowDefinition.concurrency,
        )
        .where(WorkflowDefinition.id == definition_id)
        .tuples()
        .get()
    )
    return Definition(definition_id, workspace_id, name, version, tuple(steps), concurrency)


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


def create_definition(
    workspace_id: str,
    name: str,
    version: str,
    description: str | None,
    steps: list[dict],
    concurrency: dict | None = None,
) -> WorkflowDefinition:
    """A new definition; raises `DefinitionExists` when the workspace has this name and
    version already."""
    try:
        with db.atomic():
            return WorkflowDefinition.create(
                id=new_id("wfdef"),
                workspace=workspace_id,
                name=name,
                version=version,
                description=description,
                steps=steps,
                concurrency=concurrency,
            )
    except peewee.IntegrityError:
        raise DefinitionExists(
            f"workflow definition {name!r} version {version!r} already exists"
        ) from None


def definitions_of_workspace(workspace_id: str, name: str | None = None) -> peewee.ModelSelect:
    """The workspace's definitions, unexecuted, newest first: by `created_at`, then `id`;
    only those called `name` when given."""
    query = WorkflowDefinition.select().where(WorkflowDefinition.workspace == workspace_id)
    if name is not None:
        query = query.where(WorkflowDefinition.name == name)
    return query.order_by(WorkflowDefinition.created_at.desc(), WorkflowDefinition.id.desc())
