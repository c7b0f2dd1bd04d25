"""Values a worker later writes to a column of fixed width are held to it when a definition is
created (SPEC section 5), and a resume's signal type to the signal column's."""

from __future__ import annotations

import pytest

from models import statuses
from models.definitions import WorkflowDefinition
from models.runs import WorkflowRun
from models.signals import Signal
from tests import run_states
from tests.api_support import assert_error

#: One step of each kind whose values have a column width, at the limit of each.
LLM = {
    "type": "llm",
    "name": "draft",
    "model": "m" * 200,
    "fallbackModels": ["gpt-4o-mini", "f" * 200],
    "messages": [{"role": "user", "content": "Write it."}],
    "outputKey": "k" * 100,
}
APPROVAL = {"type": "approval", "name": "review", "contentKey": "c" * 200}
WAIT = {"type": "wait", "name": "pause", "durationMs": 10, "signalType": "w" * 200}
EXTERNAL_EVENT = {"type": "external_event", "name": "paid", "signalType": "e" * 200}

#: (step, field, a value one character over its limit, the field path reported)
OVER = [
    (APPROVAL, "contentKey", "c" * 201, "steps[0].contentKey"),
    (LLM, "model", "m" * 201, "steps[0].model"),
    (LLM, "fallbackModels", ["gpt-4o-mini", "f" * 201], "steps[0].fallbackModels[1]"),
    (LLM, "outputKey", "k" * 101, "steps[0].outputKey"),
    (WAIT, "signalType", "w" * 201, "steps[0].signalType"),
    (EXTERNAL_EVENT, "signalType", "e" * 201, "steps[0].signalType"),
]


def _define(client, auth, *steps: dict):
    return client.simulate_post(
        "/v1/workflow-definitions",
        headers=auth,
        json={"name": "lengths", "version": "1", "steps": list(steps)},
    )


@pytest.mark.parametrize(
    ("step", "field", "value", "path"), OVER, ids=[f"{s['type']}.{f}" for s, f, _, _ in OVER]
)
def test_a_value_longer_than_its_column_is_400_naming_its_path(
    client, auth, step, field, value, path
):
    result = _define(client, auth, {**step, field: value})

    error = assert_error(result, 400, "VALIDATION_ERROR", path)
    problem = next(item for item in error["details"]["fields"] if item["field"] == path)
    assert "at most" in problem["message"]
    assert WorkflowDefinition.select().count() == 0


def test_values_at_their_limits_are_taken(client, auth):
    result = _define(client, auth, LLM, APPROVAL, WAIT, EXTERNAL_EVENT)

    assert result.status_code == 201, result.text
    assert WorkflowDefinition.get_by_id(result.json["data"]["id"]).steps[0] == LLM


def test_a_resume_with_a_signal_type_over_200_characters_is_400(client, auth, workspace):
    run, _ = run_states.waiting(workspace[0], EXTERNAL_EVENT)

    result = client.simulate_post(
        f"/v1/workflow-runs/{run.id}/resume", headers=auth, json={"signalType": "e" * 201}
    )

    assert_error(result, 400, "VALIDATION_ERROR", "signalType")
    stored = WorkflowRun.get_by_id(run.id)
    assert (stored.status, stored.version) == (statuses.WAITING, run.version)
    assert Signal.select().count() == 0
    resumed = client.simulate_post(
        f"/v1/workflow-runs/{run.id}/resume", headers=auth, json={"signalType": "e" * 200}
    )
    assert resumed.status_code == 200, resumed.text
