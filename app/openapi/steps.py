"""The schemas of a workflow definition's steps, generated from the step types.

Each type's fields give both its checks and its schema (`actors.steps.fields`); the checks no
schema can state (handlers and tools registered, condition targets naming steps, a valid
expression) are in each field's description.
"""

from __future__ import annotations

from typing import Any

from actors.steps import step_types
from models.json_schema import ref


def step_schemas() -> dict[str, dict[str, Any]]:
    """`Step` (one of the step types, by `type`), each type's schema, and what they refer to."""
    kinds = step_types()
    step = {
        "oneOf": [ref(kind.schema_name) for kind in kinds],
        "discriminator": {
            "propertyName": "type",
            "mapping": {kind.name: f"#/components/schemas/{kind.schema_name}" for kind in kinds},
        },
    }
    schemas: dict[str, dict[str, Any]] = {"Step": step}
    for kind in kinds:
        schemas.update(kind.components())
        schemas[kind.schema_name] = kind.schema()
    return schemas
