"""Schemathesis against the running API: every operation of `GET /v1/openapi.json` fuzzed over
real HTTP, served by gunicorn with a dramatiq worker behind it, as deployed.

No answer may be a 5xx, and every answer must keep to the document: a documented status, the
documented content type, a body of the documented schema. Generation is deterministic (the
same requests every run) and bounded per operation.

Random ids reach only the 404 branch, so ids are half of the time swapped for ids of resources
seeded in each state an operation acts on (a paused run to cancel, a failed one to retry, an
undecided approval, a spare key to revoke, a paused schedule to unpause...). Schemathesis holds
the admin token too, so creating workspaces is fuzzed past it (each one it creates lands in the
test database). No clock runs, so no webhook delivery is ever attempted, whatever address a
fuzzed webhook names, and no fuzzed schedule ever fires.

The totals (operations, requests, failures) are printed (per operation with `-s`), recorded as
the test's `schemathesis` property, and repeated in pytest's terminal summary.
"""

from __future__ import annotations

import datetime
import os
import zlib
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import serializers
from harness.processes import ProcessFailed, System, worker_command
from models.base import utcnow
from models.fire_times import Timing
from models.ids import new_id
from models.keys import create_workspace, issue_key
from models.llm_calls import LlmCall
from models.runs import StepRun
from models.schedules import SKIP, create_schedule, pause_schedule
from models.webhooks import create_webhook
from tests import run_states
from tests.api_support import assert_error
from tests.conftest import ADMIN_TOKEN, TEST_BROKER_URL, TEST_DATABASE_URL
from tests.support import insert_definition

#: Examples per operation in the fuzzing phase (the coverage phase adds its own).
MAX_EXAMPLES = 20

#: What every answer is checked for.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api(tmp_path):
    """gunicorn and one dramatiq worker on the suite's database and vhost; yields the URL."""
    env = {
        **os.environ,
        "DATABASE_URL": TEST_DATABASE_URL,
        "BROKER_URL": TEST_BROKER_URL,
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "STEVORA_HANDLERS": "harness.handlers",
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "2",
    }
    system = System(tmp_path, env, worker=worker_command(1, 2))
    try:
        system.start("web")
        system.start("worker")
        system.wait_healthy()
    except ProcessFailed as exc:
        system.kill_all()
        pytest.fail(str(exc))
    yield system.url
    system.stop()


@dataclass
class Seeded:
    """Resources of the caller's workspace, by path parameter; `swaps` maps an operation's
    parameter to the resource it acts on when that differs from the default."""

    ids: dict[str, str]
    swaps: dict[tuple[str, str], str]

    def apply(self, case: schemathesis.Case) -> None:
        """Swap about half of the generated ids (by a hash of each) for seeded ones."""
        label = f"{case.method.upper()} {case.path}"
        for name, value in case.path_parameters.items():
            if name in self.ids and _heads(value):
                case.path_parameters[name] = self.swaps.get((label, name), self.ids[name])
        body = case.body
        if (
            label in ("POST /v1/workflow-runs", "POST /v1/schedules")
            and isinstance(body, dict)
            and _heads(body.get("definitionId"))
        ):
            body["definitionId"] = self.ids["definition_id"]


def _heads(value: object) -> bool:
    return zlib.crc32(repr(value).encode("utf-8", "surrogatepass")) % 2 == 0


@pytest.fixture
def seeded(workspace):
    """One resource of each kind, in the states the operations on it act on."""
    ws = workspace[0]
    paused, _, request = run_states.paused(ws)
    failed, _ = run_states.failed(ws)
    waiting, _ = run_states.waiting(ws)
    cancellable, _, _ = run_states.paused(ws)
    _, _, undecided = run_states.paused(ws)
    spare, _ = issue_key(ws, "spare")
    kept = create_webhook(ws.id, "http://127.0.0.1:9/kept", ["workflow.completed"])
    doomed = create_webhook(ws.id, "http://127.0.0.1:9/doomed", ["workflow.failed"])
    completed = run_states.completed(ws)  # a delivery for `kept`, and a run to rerun
    _add_llm_call(paused)
    definition = insert_definition(ws, [{"type": "task", "name": "work", "handler": "noop"}])
    hourly = Timing(cron="0 * * * *")
    kept_schedule, paused_schedule, doomed_schedule = (
        create_schedule(ws.id, definition.id, hourly, {}, SKIP) for _ in range(3)
    )
    pause_schedule(paused_schedule)
    # Another workspace to change: a rate limit of 1 on the fuzzer's own would refuse the rest.
    changed, _, _ = create_workspace("Changed", "changed")
    return Seeded(
        ids={
            "workspace_id": changed.id,
            "run_id": paused.id,
            "request_id": request.id,
            "definition_id": definition.id,
            "key_id": spare.id,
            "webhook_id": kept.id,
            "schedule_id": kept_schedule.id,
        },
        swaps={
            ("POST /v1/workflow-runs/{run_id}/cancel", "run_id"): cancellable.id,
            ("POST /v1/workflow-runs/{run_id}/retry", "run_id"): failed.id,
            ("POST /v1/workflow-runs/{run_id}/resume", "run_id"): waiting.id,
            ("POST /v1/workflow-runs/{run_id}/rerun", "run_id"): completed.id,
            ("POST /v1/approval-requests/{request_id}/decide", "request_id"): undecided.id,
            ("DELETE /v1/webhooks/{webhook_id}", "webhook_id"): doomed.id,
            ("POST /v1/schedules/{schedule_id}/unpause", "schedule_id"): paused_schedule.id,
            ("DELETE /v1/schedules/{schedule_id}", "schedule_id"): doomed_schedule.id,
        },
    )


def _add_llm_call(run) -> None:
    step_run = StepRun.select().where(StepRun.run == run.id).get()
    LlmCall.create(
        id=new_id("llm"),
        workspace=run.workspace_id,
        run=run.id,
        step_run=step_run,
        attempt=1,
        provider="openai",
        model="gpt-4o",
        input_tokens=120,
        output_tokens=30,
        cost_usd=Decimal("0.0006"),
        duration_ms=340,
        outcome="completed",
        created_at=utcnow(),
    )


@dataclass
class Tally:
    """Requests made and answers that failed a check, per operation."""

    requests: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        return (
            f"schemathesis: {len(self.requests)} operations, {sum(self.requests.values())} "
            f"requests, {sum(self.failures.values())} failures; statuses "
            + ", ".join(f"{status}: {n}" for status, n in sorted(self.statuses.items()))
        )


class _Summary:
    """A pytest plugin that repeats the totals in the terminal summary."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    def pytest_terminal_summary(self, terminalreporter) -> None:
        terminalreporter.write_sep("-", "schemathesis")
        terminalreporter.write_line(self.tally.summary())
        for label, n in sorted(self.tally.failures.items()):
            terminalreporter.write_line(f"  failed: {label}: {n}")


@pytest.fixture
def tally(request):
    counts = Tally()
    request.config.pluginmanager.register(_Summary(counts), f"schemathesis-{id(counts)}")
    yield counts
    print(f"\n{counts.summary()}")
    for label, n in sorted(counts.requests.items()):
        print(f"  {label}: {n} requests, {counts.failures[label]} failures")
    request.node.user_properties.append(("schemathesis", counts.summary()))


@pytest.fixture
def live_schema(api, workspace):
    """The document as the running API serves it, authenticated as `workspace` (and with the
    admin token, so creating workspaces is fuzzed past the token too)."""
    loaded = schemathesis.openapi.from_url(
        f"{api}/v1/openapi.json", config=schemathesis.Config(), timeout=10
    )
    loaded.config.update(
        base_url=api,
        headers={"x-api-key": workspace[1], "x-admin-token": ADMIN_TOKEN},
        request_timeout=10,
    )
    loaded.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)
    return loaded


schema = schemathesis.pytest.from_fixture("live_schema")


@schema.parametrize()
def test_every_operation_answers_as_documented_under_fuzzing(case, seeded, tally):
    seeded.apply(case)
    label = case.operation.label
    response = case.call()
    tally.requests[label] += 1
    tally.statuses[response.status_code] += 1
    try:
        case.validate_response(response, checks=CHECKS)
    except FailureGroup:
        tally.failures[label] += 1
        raise


# What fuzzing found, pinned in-process (each was a 500, or an answer the document refused).


def test_timestamps_before_year_1000_keep_four_digit_years():
    assert serializers.timestamp(datetime.datetime(45, 8, 10)) == "0045-08-10T00:00:00.000Z"


@pytest.mark.parametrize(
    "query",
    [
        "to=9999-12-31",  # the day after is past year 9999
        "to=0001-01-01T00:00:00%2B05:00",  # before year 1 in UTC
        "from=9999-12-31T23:00:00-05:00",
    ],
)
def test_a_cost_window_outside_the_years_a_timestamp_holds_is_400(client, auth, query):
    result = client.simulate_get("/v1/cost/summary", query_string=query, headers=auth)
    assert_error(result, 400, "VALIDATION_ERROR")


def test_a_cost_window_near_year_1_is_answered(client, auth):
    result = client.simulate_get("/v1/cost/summary", query_string="to=0001-01-05", headers=auth)
    assert result.status_code == 200, result.text
    assert result.json["data"]["from"] is None


@pytest.mark.parametrize("text", ['{"name": "\\ud800"}', '{"\\udfff": 1}', '{"name": "a\\u0000"}'])
def test_a_body_postgresql_cannot_store_is_400(client, auth, text):
    result = client.simulate_post(
        "/v1/api-keys", body=text, headers={**auth, "content-type": "application/json"}
    )
    assert_error(result, 400, "VALIDATION_ERROR")


def test_a_surrogate_pair_is_one_character_and_accepted(client, auth):
    result = client.simulate_post(
        "/v1/api-keys",
        body='{"name": "\\ud83d\\ude00"}',
        headers={**auth, "content-type": "application/json"},
    )
    assert result.status_code == 201 and result.json["data"]["name"] == "\U0001f600"


def test_a_nul_in_the_name_filter_is_400(client, auth):
    result = client.simulate_get("/v1/workflow-definitions", params={"name": "a\x00"}, headers=auth)
    assert_error(result, 400, "VALIDATION_ERROR", "name")
