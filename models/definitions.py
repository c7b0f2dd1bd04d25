"""Workflow definitions: immutable, versioned lists of steps."""

from __future__ import annotations

import functools

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


@functools.lru_cache(maxsize=1024)
def definition_steps(definition_id: str) -> tuple[dict, ...]:
    """The steps of a definition; definitions are immutable, so caching them is safe."""
    return tuple(WorkflowDefinition.get_by_id(definition_id).steps)
