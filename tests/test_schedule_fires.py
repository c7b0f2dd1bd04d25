"""Schedules fired by the clock (SPEC section 9): runs that complete, each fire started once by
two clocks, `overlap: skip` and `allow`, pause and unpause, downtime, and fire times across
daylight-saving changes.

Fire times are read back from the runs' idempotency keys, `schedule:<id>:<fire time>`: the
clock's one record of which fire a run belongs to.
"""

from __future__ import annotations

import contextlib
import datetime
import threading
import time

import pytest

from actors import clock as clock_module
from models import statuses
from models.base import utcnow
from models.config import current
from models.fire_times import Timing
from models.runs import WorkflowRun
from models.schedules import Schedule, fire_due_schedules, fire_key
from tests.api_support import create_definition, task_step, wait_until
from tests.support import wait_for_run

SECOND = datetime.timedelta(seconds=1)
LONG_WAIT = [{"type": "wait", "name": "linger", "durationMs": 600_000}]


def _schedule(client, auth, steps: list[dict], **body) -> dict:
    definition = create_definition(client, auth, version=str(time.monotonic_ns()), steps=steps)
    result = client.simulate_post(
        "/v1/schedules", json={"definitionId": definition["id"], **body}, headers=auth
    )
    assert result.status_code == 201, result.text
    return result.json["data"]


def _runs(schedule_id: str) -> list[WorkflowRun]:
    """The schedule's runs, by fire time."""
    return list(
        WorkflowRun.select()
        .where(WorkflowRun.schedule_id == schedule_id)
        .order_by(WorkflowRun.idempotency_key)
    )


def _fire_time(run: WorkflowRun) -> datetime.datetime:
    stamp = run.idempotency_key.removeprefix(f"schedule:{run.schedule_id}:")
    return datetime.datetime.fromisoformat(stamp).replace(tzinfo=None)


def _fire_times(schedule_id: str) -> list[datetime.datetime]:
    return [_fire_time(run) for run in _runs(schedule_id)]


def _owed(schedule_id: str) -> datetime.datetime:
    return Schedule.get_by_id(schedule_id).next_fire_at


@contextlib.contextmanager
def _clocks(count: int = 1):
    """`count` clocks, each `actors.clock.run` in a thread of its own, stopped on leaving."""
    stop = threading.Event()
    threads = [
        threading.Thread(target=clock_module.run, args=(stop, current()), daemon=True)
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)


# Through the clock and a worker.


def test_an_interval_schedule_fires_runs_that_complete(client, auth, worker, clock):
    schedule = _schedule(
        client, auth, [task_step("greet", handler="noop")], intervalMs=1000, input={"who": "ada"}
    )

    wait_until(lambda: len(_runs(schedule["id"])) >= 2, timeout=10)
    runs = [wait_for_run(run.id) for run in _runs(schedule["id"])[:2]]

    assert [run.status for run in runs] == [statuses.COMPLETED] * 2
    assert all(run.input == {"who": "ada"} for run in runs)
    first, second = (_fire_time(run) for run in runs)
    assert first.isoformat(timespec="milliseconds") + "Z" == schedule["nextFireAt"]
    assert second - first == SECOND
    shown = client.simulate_get(f"/v1/workflow-runs/{runs[0].id}", headers=auth).json["data"]
    assert shown["scheduleId"] == schedule["id"]
    assert shown["idempotencyKey"] == fire_key(schedule["id"], first)


def test_two_clocks_start_each_fire_once_and_miss_none(client, auth):
    schedules = [
        _schedule(client, auth, LONG_WAIT, intervalMs=1000, overlap="allow") for _ in range(8)
    ]

    with _clocks(2):
        time.sleep(3.5)

    for schedule in schedules:
        fires = _fire_times(schedule["id"])
        owed = _owed(schedule["id"])
        assert len(fires) >= 3, fires
        # Every fire from the first to the one now owed, one second apart: none twice (the
        # keys are unique), none missed, none off the steps.
        first = fires[0]
        assert first.isoformat(timespec="milliseconds") + "Z" == schedule["nextFireAt"]
        assert fires == [first + n * SECOND for n in range(len(fires))]
        assert owed == first + len(fires) * SECOND


def test_overlap_skip_starts_nothing_while_the_previous_run_is_not_final(
    client, auth, worker, clock
):
    schedule = _schedule(client, auth, LONG_WAIT, intervalMs=1000)
    assert schedule["overlap"] == "skip"

    (first,) = wait_until(lambda: _runs(schedule["id"]), timeout=5)
    wait_for_run(first.id, wanted={statuses.WAITING})
    owed_before = _owed(schedule["id"])
    time.sleep(2.5)

    assert [run.id for run in _runs(schedule["id"])] == [first.id]
    assert _owed(schedule["id"]) >= owed_before + 2 * SECOND  # the skipped fires passed over
    cancel = client.simulate_post(f"/v1/workflow-runs/{first.id}/cancel", headers=auth)
    assert cancel.status_code == 200, cancel.text
    runs = wait_until(lambda: len(_runs(schedule["id"])) == 2 and _runs(schedule["id"]), 5)
    assert runs[1].id != first.id


def test_overlap_allow_starts_every_fire_while_earlier_runs_wait(client, auth, worker, clock):
    schedule = _schedule(client, auth, LONG_WAIT, intervalMs=1000, overlap="allow")

    runs = wait_until(lambda: len(_runs(schedule["id"])) >= 3 and _runs(schedule["id"]), 10)

    for run in runs[:3]:
        assert wait_for_run(run.id, wanted={statuses.WAITING}).status == statuses.WAITING


# Missed fires: one catch-up, at once.


def test_pause_stops_the_fires_and_unpause_catches_up_once(client, auth, clock):
    schedule = _schedule(client, auth, LONG_WAIT, intervalMs=1000, overlap="allow")
    path = f"/v1/schedules/{schedule['id']}"
    wait_until(lambda: _runs(schedule["id"]), timeout=5)

    assert client.simulate_post(f"{path}/pause", headers=auth).status_code == 200
    fired_before = len(_runs(schedule["id"]))
    owed = _owed(schedule["id"])
    time.sleep(3.2)
    assert len(_runs(schedule["id"])) == fired_before

    unpaused_at = utcnow()
    unpaused = client.simulate_post(f"{path}/unpause", headers=auth)
    assert unpaused.json["data"]["nextFireAt"] == owed.isoformat(timespec="milliseconds") + "Z"
    catch_up = wait_until(lambda: [r for r in _runs(schedule["id"]) if _fire_time(r) == owed], 2)
    time.sleep(1.5)

    assert catch_up[0].created_at - unpaused_at < datetime.timedelta(milliseconds=500)
    after = _fire_times(schedule["id"])[fired_before:]
    assert after[0] == owed and len(after) >= 2
    # The fires missed while paused are passed over; the steps go on after the unpause.
    assert all(fire > unpaused_at for fire in after[1:])
    assert all((fire - owed) % SECOND == datetime.timedelta(0) for fire in after)


def test_a_clock_down_for_several_intervals_fires_one_missed_run_at_once(client, auth):
    schedule = _schedule(client, auth, LONG_WAIT, intervalMs=1000, overlap="allow")
    with _clocks(1):
        wait_until(lambda: _runs(schedule["id"]), timeout=5)
    fired_before = len(_runs(schedule["id"]))
    owed = _owed(schedule["id"])

    time.sleep(3.5)  # three fires or more missed
    restarted_at = utcnow()
    with _clocks(1):
        catch_up = wait_until(
            lambda: [r for r in _runs(schedule["id"]) if _fire_time(r) == owed], timeout=2
        )
        time.sleep(1.5)

    assert catch_up[0].created_at - restarted_at < datetime.timedelta(milliseconds=500)
    after = _fire_times(schedule["id"])[fired_before:]
    assert after[0] == owed
    assert all(fire > restarted_at for fire in after[1:]), after
    assert all((fire - owed) % SECOND == datetime.timedelta(0) for fire in after)


def test_the_clock_wakes_for_a_schedules_next_fire(client, auth):
    schedule = _schedule(client, auth, LONG_WAIT, intervalMs=60_000)
    soon = utcnow() + datetime.timedelta(milliseconds=300)
    Schedule.update(next_fire_at=soon).where(Schedule.id == schedule["id"]).execute()

    assert clock_module.pause(5.0) <= 0.31

    client.simulate_post(f"/v1/schedules/{schedule['id']}/pause", headers=auth)
    assert clock_module.pause(5.0) == 5.0  # a paused schedule wakes nobody


def test_a_cron_fire_writes_the_crons_next_time_after_now(client, auth):
    schedule = _schedule(client, auth, LONG_WAIT, cron="*/5 * * * *", timezone="Asia/Kolkata")
    due = utcnow().replace(second=0, microsecond=0) - datetime.timedelta(minutes=30)
    Schedule.update(next_fire_at=due).where(Schedule.id == schedule["id"]).execute()

    (run_id,) = fire_due_schedules(10)

    assert WorkflowRun.get_by_id(run_id).idempotency_key == fire_key(schedule["id"], due)
    following = _owed(schedule["id"])
    assert datetime.timedelta(0) < following - utcnow() <= datetime.timedelta(minutes=5)
    assert following.minute % 5 == 0 and following.second == 0  # India is UTC+05:30


# Fire times.

BERLIN_DAILY = Timing(cron="30 2 * * *", timezone="Europe/Berlin")


def _utc(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


def _fires(timing: Timing, start: str, count: int) -> list[str]:
    """The `count` fires after `start`, each fired on time."""
    fire, fires = timing.first(_utc(start)), []
    for _ in range(count):
        fires.append(fire.isoformat(timespec="minutes"))
        fire = timing.following(fire, fire)
    return fires


def test_a_daily_0230_in_berlin_fires_at_0300_on_the_day_the_spring_change_skips_it():
    # 29 March 2026: 02:00 CET becomes 03:00 CEST; there is no 02:30 that day.
    assert _fires(BERLIN_DAILY, "2026-03-27T12:00:00", 4) == [
        "2026-03-28T01:30",  # 02:30 CET
        "2026-03-29T01:00",  # 03:00 CEST, the first moment after the gap
        "2026-03-30T00:30",  # 02:30 CEST
        "2026-03-31T00:30",
    ]


def test_a_daily_0230_in_berlin_fires_at_both_0230s_of_the_autumn_change():
    # 25 October 2026: 03:00 CEST becomes 02:00 CET; 02:30 comes twice.
    assert _fires(BERLIN_DAILY, "2026-10-24T12:00:00", 3) == [
        "2026-10-25T00:30",  # 02:30 CEST
        "2026-10-25T01:30",  # 02:30 CET
        "2026-10-26T01:30",
    ]


def test_an_hourly_cron_keeps_real_hours_across_the_spring_change():
    hourly = Timing(cron="0 * * * *", timezone="Europe/Berlin")
    assert _fires(hourly, "2026-03-28T23:30:00", 4) == [
        "2026-03-29T00:00",
        "2026-03-29T01:00",
        "2026-03-29T02:00",
        "2026-03-29T03:00",
    ]


@pytest.mark.parametrize(
    ("timing", "due", "now", "following"),
    [
        # On time: the next step.
        (Timing(interval_ms=60_000), "2026-01-01T10:00:00", "2026-01-01T10:00:00.050", "10:01"),
        # Three steps missed: the first one after now, on the steps from the one due.
        (Timing(interval_ms=60_000), "2026-01-01T10:00:00", "2026-01-01T10:03:30", "10:04"),
        (Timing(interval_ms=60_000), "2026-01-01T10:00:00", "2026-01-01T10:04:00", "10:05"),
        (Timing(cron="*/15 * * * *"), "2026-01-01T10:00:00", "2026-01-01T11:20:00", "11:30"),
        (Timing(cron="0 9 * * *"), "2026-01-01T09:00:00", "2026-01-03T08:00:00", "09:00"),
    ],
)
def test_the_fire_after_a_late_one_is_the_first_after_now(timing, due, now, following):
    fire = timing.following(_utc(due), _utc(now))
    assert fire > _utc(now) and fire.strftime("%H:%M") == following


def test_a_first_interval_fire_is_one_interval_on_cut_to_the_millisecond():
    first = Timing(interval_ms=1500).first(_utc("2026-01-01T10:00:00.123456"))
    assert first == _utc("2026-01-01T10:00:01.623")
