"""Stevora's data layer: tables, the state machine, transitions and migrations."""

from models.definitions import WorkflowDefinition
from models.runs import RunEvent, StepRun, WorkflowRun
from models.workspaces import ApiKey, Workspace

TABLES = (Workspace, ApiKey, WorkflowDefinition, WorkflowRun, StepRun, RunEvent)

__all__ = [
    "TABLES",
    "ApiKey",
    "RunEvent",
    "StepRun",
    "WorkflowDefinition",
    "WorkflowRun",
    "Workspace",
]
