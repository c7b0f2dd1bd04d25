"""The paths of workflow definitions."""

from __future__ import annotations

from typing import Any

from app.openapi.errors import KEYED
from app.openapi.parameters import PAGE, PAGE_SIZE, path_id, query
from app.openapi.paths.operation import json_answer, one, operation, page
from models.json_schema import text


def path_items() -> dict[str, dict[str, Any]]:
    """Storing, listing and reading definitions."""
    return {
        "/v1/workflow-definitions": {
            "post": operation(
                "createWorkflowDefinition",
                "Store an immutable definition; 409 for a name and version stored already.",
                "Workflow definitions",
                {201: json_answer(one("WorkflowDefinition"), "The definition.")},
                (400, 409, *KEYED),
                body="CreateWorkflowDefinition",
            ),
            "get": operation(
                "listWorkflowDefinitions",
                "The workspace's definitions, newest first.",
                "Workflow definitions",
                {200: json_answer(page("WorkflowDefinition"), "A page of definitions.")},
                (400, *KEYED),
                parameters=(
                    PAGE,
                    PAGE_SIZE,
                    query(
                        "name",
                        {**text(1, 200), "pattern": "^[^\\u0000]*$"},
                        "Only definitions of this exact name (no NUL: PostgreSQL cannot hold it).",
                    ),
                ),
            ),
        },
        "/v1/workflow-definitions/{definition_id}": {
            "get": operation(
                "getWorkflowDefinition",
                "One definition.",
                "Workflow definitions",
                {200: json_answer(one("WorkflowDefinition"), "The definition.")},
                (404, *KEYED),
                parameters=(path_id("definition_id", "wfdef", "workflow definition"),),
            )
        },
    }
