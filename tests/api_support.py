"""Small helpers shared by the API tests: error assertions, request bodies, polling."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import falcon
import falcon.inspect

from app.auth import Access

#: `2026-11-28T21:40:32.123Z`
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def assert_error(result, status: int, code: str, *fields: str) -> dict:
    """Assert `result` is the error envelope with this status and code, naming these fields."""
    assert result.status_code == status, result.text
    body = result.json
    assert body["success"] is False
    assert set(body) == {"success", "error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if fields:
        named = [item["field"] for item in body["error"]["details"]["fields"]]
        for field in fields:
            assert field in named, f"{field} not in {named}"
    return body["error"]


def task_step(name: str, handler: str = "add", **extra: Any) -> dict:
    return {"type": "task", "name": name, "handler": handler, **extra}


def definition_body(**overrides: Any) -> dict:
    body = {
        "name": "orders",
        "version": "1",
        "description": "adds things up",
        "steps": [task_step("first", config={"amount": 2}), task_step("second")],
    }
    body.update(overrides)
    return body


def create_definition(client, auth: dict, **overrides: Any) -> dict:
    result = client.simulate_post(
        "/v1/workflow-definitions", json=definition_body(**overrides), headers=auth
    )
    assert result.status_code == 201, result.text
    return result.json["data"]


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def take_commands(broker, queue_name: str) -> list[tuple[str, list]]:
    """The commands waiting in a queue, as `(actor_name, args)`, taken off it (no worker)."""
    commands = []
    while True:
        method, _, body = broker.channel.basic_get(queue_name, auto_ack=True)
        if method is None:
            return commands
        message = json.loads(body)
        commands.append((message["actor_name"], message["args"]))


@dataclass(frozen=True)
class Route:
    """One method of one route the app serves, and who may call it."""

    method: str
    template: str
    access: Access

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def api_routes(app: falcon.App) -> list[Route]:
    """Every route and method `app` serves, read from its router (so new routes are in)."""
    routes = []
    for info in falcon.inspect.inspect_routes(app):
        resource = app._router.find(re.sub(r"{\w+}", "x", info.path))[0]
        access = getattr(resource, "access", Access.API_KEY)
        routes += [Route(m.method, info.path, access) for m in info.methods if not m.internal]
    return routes
