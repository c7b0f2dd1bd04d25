"""The actors that start runs and execute their steps: thin wrappers over `actors.driver`."""

from __future__ import annotations

import dramatiq

from actors import driver
from actors.steps.timeout import STEP_TIME_LIMIT_MS


@dramatiq.actor(queue_name="runs", max_retries=5, time_limit=STEP_TIME_LIMIT_MS)
def start_run(run_id: str) -> None:
    """Start a PENDING run: RUNNING, first step started, and as many steps as are cheap."""
    driver.start(run_id, hand_off)


@dramatiq.actor(queue_name="steps", max_retries=5, time_limit=STEP_TIME_LIMIT_MS)
def execute_step(run_id: str, step_run_id: str, step_index: int, attempt: int) -> None:
    """Execute a step run's attempt, if the run is still there (the fence), and go on."""
    driver.resume(run_id, step_run_id, attempt, hand_off)


def hand_off(run_id: str, step_run_id: str, step_index: int, attempt: int) -> None:
    """Send the rest of a run to the broker: the next worker takes it from this step."""
    execute_step.send(run_id, step_run_id, step_index, attempt)
