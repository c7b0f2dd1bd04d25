"""Workflow definitions: immutable, versioned lists of steps."""

from __future__ import annotations

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
