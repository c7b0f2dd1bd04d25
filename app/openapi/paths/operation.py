"""One operation of the document: its id, summary, tag, parameters, body and every answer.

Each operation lists every status it can answer: its successes, the errors its resource
raises, and those every request can meet (a body that is too large or not JSON, a bug, the
database down), each error a reference to its component response.
"""

from __future__ import annotations

from typing import Any

from app.openapi.errors import ERROR_RESPONSES
from app.openapi.schemas.envelopes import page_of, success
from models.json_schema import ref


def json_answer(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """An answer with a JSON body of `schema`."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def one(name: str) -> dict[str, Any]:
    """The success envelope of one resource of the component schema `name`."""
    return success(ref(name))


def page(name: str) -> dict[str, Any]:
    """The success envelope of a page of resources of the component schema `name`."""
    return page_of(ref(name))


def operation(
    operation_id: str,
    summary: str,
    tag: str,
    answers: dict[int, dict[str, Any]],
    errors: tuple[int, ...],
    *,
    parameters: tuple[dict[str, Any], ...] = (),
    body: str | None = None,
    body_required: bool = True,
    security: list[dict[str, list]] | None = None,
) -> dict[str, Any]:
    """The operation: `answers` by status, then each status of `errors`; `body` names the
    component schema of its request body.
    """
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    if parameters:
        operation["parameters"] = list(parameters)
    if body is not None:
        operation["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": ref(body)}},
        }
    if security is not None:
        operation["security"] = security
    answered = {str(status): answer for status, answer in answers.items()}
    for status in sorted(errors):
        answered[str(status)] = {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"}
    operation["responses"] = answered
    return operation
