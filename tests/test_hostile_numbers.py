"""Numbers PostgreSQL cannot store, or that no double holds, are a 400 at the edge (SPEC 1)."""

from __future__ import annotations

import pytest

from models.definitions import WorkflowDefinition
from models.runs import WorkflowRun
from tests.api_support import assert_error, create_definition

JSON = {"Content-Type": "application/json"}

#: Number literals beyond a double's range, as a client would write them.
HUGE = ["1e999", "-1e999", "1" + "0" * 400, "-1" + "0" * 400, "123456789e400", "0.5E+309"]
#: Numbers a double holds, to the edges of its range.
HELD = ["1.7976931348623157e308", "-1.7976931348623157e308", "5e-324", "1e-999", "1" + "0" * 308]


def _id(literal: str) -> str:
    return literal if len(literal) < 30 else f"{literal[:3]}...({len(literal)} chars)"


@pytest.mark.parametrize("literal", HUGE, ids=_id)
def test_a_run_whose_input_holds_a_number_beyond_a_double_is_400_and_not_stored(
    client, auth, literal
):
    definition = create_definition(client, auth)
    body = f'{{"definitionId": "{definition["id"]}", "input": {{"x": {literal}}}}}'

    result = client.simulate_post("/v1/workflow-runs", body=body, headers={**auth, **JSON})

    error = assert_error(result, 400, "VALIDATION_ERROR")
    assert "double" in error["message"]
    assert WorkflowRun.select().count() == 0


@pytest.mark.parametrize("literal", HUGE, ids=_id)
def test_a_definition_whose_step_config_holds_a_number_beyond_a_double_is_400(
    client, auth, literal
):
    step = f'{{"type": "task", "name": "one", "handler": "echo", "config": {{"x": [{literal}]}}}}'
    body = f'{{"name": "huge", "version": "1", "steps": [{step}]}}'

    result = client.simulate_post("/v1/workflow-definitions", body=body, headers={**auth, **JSON})

    assert_error(result, 400, "VALIDATION_ERROR")
    assert WorkflowDefinition.select().count() == 0


@pytest.mark.parametrize("literal", HELD, ids=_id)
def test_numbers_a_double_holds_are_taken(client, auth, literal):
    definition = create_definition(client, auth)
    body = f'{{"definitionId": "{definition["id"]}", "input": {{"x": {literal}}}}}'

    result = client.simulate_post("/v1/workflow-runs", body=body, headers={**auth, **JSON})

    assert result.status_code == 201, result.text
    assert WorkflowRun.select().count() == 1
