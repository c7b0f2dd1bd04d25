"""A hostile workspace: the worst definitions, inputs and handler results a tenant can send.

`harness.fault_runs.hostile_workspace` sends them while another workspace's load runs: that
load must complete as ever, every hostile run must end (failed, with its own error code), the
bad bodies must be refused with an envelope, and the workers' memory must stay bounded.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import requests

#: A 500-step definition whose first step jumps over 498 to the last, which jumps back: the
#: skipped steps count towards the 10,000-step limit.
_SKIPPER = (
    [{"type": "condition", "name": "s0", "expression": "true", "trueStep": "s499"}]
    + [{"type": "task", "name": f"s{i}", "handler": "noop"} for i in range(1, 499)]
    + [{"type": "condition", "name": "s499", "expression": "true", "trueStep": "s0"}]
)

ONCE = {"maxAttempts": 1}

#: (name, steps, input): definitions that pass validation and do their worst at run time.
RUNS: list[tuple[str, list[dict], dict]] = [
    ("skipper", _SKIPPER, {}),
    (
        "templates",
        [
            {
                "type": "task",
                "name": "t",
                "handler": "echo",
                "config": {"copies": ["{{input.big}}"] * 4000},
                "retry": ONCE,
            }
        ],
        {"big": "b" * 200_000},
    ),
    (
        "uncomparable",
        [
            {
                "type": "condition",
                "name": "c",
                "expression": "input.a in input.b",
                "retry": ONCE,
            }
        ],
        {"a": [1], "b": {}},
    ),
    *[
        (
            f"odd-{kind}",
            [
                {
                    "type": "task",
                    "name": "o",
                    "handler": "odd_result",
                    "config": {"kind": kind},
                    "retry": ONCE,
                }
            ],
            {},
        )
        for kind in ("nan", "nul", "surrogate", "deep", "huge", "not_json")
    ],
    *[
        (
            f"raises-{kind}",
            [{"type": "task", "name": "r", "handler": "raises", "config": {"kind": kind}}],
            {},
        )
        for kind in ("recursion", "memory", "unprintable", "system_exit")
    ],
]

#: Request bodies (as raw JSON text) the API must refuse at the edge, with an envelope.
_DEEP = "[" * 5000 + "]" * 5000
BAD_BODIES = [
    '{"definitionId": "%s", "input": {"x": 1e999}}',
    '{"definitionId": "%s", "input": {"x": ' + _DEEP + "}}",
    '{"definitionId": "%s", "input": {"x": "a\\u0000b"}}',
    '{"definitionId": "%s", "input": {"x": "\\ud800"}}',
]


def send(url: str, api_key: str, copies: int = 1) -> tuple[list[str], list[int]]:
    """Create the hostile definitions and `copies` runs of each, and send the bad bodies;
    the hostile runs' ids and the statuses the bad bodies got."""
    session = requests.Session()
    session.headers.update({"x-api-key": api_key, "content-type": "application/json"})
    run_ids, refused = [], []
    for name, steps, run_input in RUNS:
        created = session.post(
            f"{url}/v1/workflow-definitions",
            data=json.dumps({"name": name, "version": str(time.monotonic_ns()), "steps": steps}),
            timeout=30,
        )
        created.raise_for_status()
        definition_id = created.json()["data"]["id"]
        for _ in range(copies):
            body = json.dumps({"definitionId": definition_id, "input": run_input})
            run = session.post(f"{url}/v1/workflow-runs", data=body, timeout=30)
            run.raise_for_status()
            run_ids.append(run.json()["data"]["id"])
        for bad in BAD_BODIES:
            answer = session.post(f"{url}/v1/workflow-runs", data=bad % definition_id, timeout=30)
            refused.append(answer.status_code)
            assert answer.json()["success"] is False
    return run_ids, refused


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB (from /proc)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except FileNotFoundError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        pending.extend(int(child) for child in children)
    return total / 1024
