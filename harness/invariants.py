"""What must hold of every run in the database, whatever went wrong on the way.

The test suite and the fault script (`bench/faults.py`) read the database after a load and
check each run:

- `status`: it is in a status its definition implies (the caller says which, `expect`);
- `path`: a COMPLETED run's step runs are a path through its definition, from its first step
  (a rerun's: the step it was made from, named by its WORKFLOW_STARTED) to the end;
- `doubled`: no step run completed twice, and no attempt of one was started twice;
- `event_sequence`: its events, replayed in the order they were written, follow the state
  machine (`models.statuses`) for the run and each step run, and end at the stored statuses;
- `event_order`: the events' sequence numbers are 1, 2, 3... with no gap (the run's one order);
- `version`: its version equals the number of its events (one per transition);
- `nothing_due`: a PENDING or RUNNING run has a timer (a redrive or a worker's lease), a final
  one has none, and, once the system is idle, no timer is overdue by more than a tolerance.
- `state`: its state is where it started with what each of its step runs merged folded in, in
  the order it visited them (`models.state_history`), so its state at every step is known; runs
  created before step runs recorded that (migration 0011) are not checked.
- `approvals`: each of its approval requests is one of pending (undecided, and the run PAUSED
  at that step run's attempt), decided, or closed (undecided, `closed_at` set, not awaited).
- `paused`: a PAUSED run says why (approval or manual) and no other run does; a run a user
  paused holds no timer and starts no step until it is unpaused.
- `concurrency`: a run of a limited definition holds a slot exactly while it is started and
  not final (only a PENDING run is queued); per definition and key, no more than `limit` runs
  hold one, and the key's slot count (`concurrency_slot.active`) equals them.

The reads run in one REPEATABLE READ transaction, so they see one moment of a busy database.
"""

from __future__ import annotations

import datetime
import itertools
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from models import statuses
from models.base import utcnow
from models.db import db
from models.definitions import definition_steps
from models.state_history import Visit, fold, merged_into_state

RULES = (
    "status",
    "path",
    "doubled",
    "event_sequence",
    "event_order",
    "version",
    "nothing_due",
    "state",
    "approvals",
    "paused",
    "concurrency",
)

#: Statuses in which nothing happens to a run without a timer or a command.
_NEEDS_TIMER = frozenset({statuses.PENDING, statuses.RUNNING})


@dataclass(frozen=True)
class Run:
    """The columns of a run the checks read; what `expect` is given."""

    id: str
    definition_id: str
    status: str
    version: int
    next_run_at: datetime.datetime | None
    input: dict
    state: dict
    initial_state: dict | None
    legacy_history: bool | None
    paused_reason: str | None = None


@dataclass(frozen=True)
class Violation:
    run_id: str
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.run_id}: {self.rule}: {self.detail}"


class InvariantViolated(AssertionError):
    """Raised by `assert_invariants`; `violations` lists every broken rule."""

    def __init__(self, violations: list[Violation]) -> None:
        shown = "\n".join(f"  {violation}" for violation in violations[:50])
        more = f"\n  ... and {len(violations) - 50} more" if len(violations) > 50 else ""
        super().__init__(f"{len(violations)} invariant violation(s):\n{shown}{more}")
        self.violations = violations


def check(
    run_ids: Iterable[str] | None = None,
    *,
    expect: Callable[[Run], Collection[str]] | None = None,
    overdue_after: datetime.timedelta | None = None,
) -> list[Violation]:
    """Every broken rule of the runs named (every run when None).

    Parameters:
      run_ids: the runs to check; None checks every run in the database.
      expect: the statuses a run may be in, given the run (say, `{COMPLETED}` for a definition
        every run of which must complete); None checks no status.
      overdue_after: given once the system is idle, a run's timer more than this in the past
        is a violation (the clock should have fired it).
    """
    ids = None if run_ids is None else sorted(set(run_ids))
    runs, step_runs, events, approvals = _load(ids)
    violations = _concurrency_problems(ids)
    if ids is not None:
        missing = set(ids) - {run.id for run in runs}
        violations += [Violation(run_id, "status", "no such run") for run_id in sorted(missing)]
    now = utcnow()
    for run in runs:
        steps_of_run = step_runs.get(run.id, [])
        events_of_run = events.get(run.id, [])
        violations += _check_run(run, steps_of_run, events_of_run, expect, overdue_after, now)
        violations += [
            Violation(run.id, "approvals", problem)
            for problem in _approval_problems(approvals.get(run.id, []))
        ]
    return violations


def _concurrency_problems(ids: list[str] | None) -> list[Violation]:
    """The `concurrency` rule, over every key of the definitions of the runs named."""
    only = (
        ""
        if ids is None
        else " WHERE d.id IN (SELECT definition_id FROM workflow_run WHERE id = ANY(%s))"
    )
    params = () if ids is None else (ids,)
    opened = db.connect(reuse_if_open=True)
    try:
        with db.atomic():
            db.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            keys = db.execute_sql(_SLOT_COUNTS + only, params).fetchall()
            runs = db.execute_sql(_LIMITED_RUNS + only, params).fetchall()
    finally:
        if opened:
            db.close()
    violations = []
    for definition_id, key, limit, holders, active in keys:
        at = f"{definition_id}[{key!r}]"
        if holders > limit:
            violations.append(
                Violation(at, "concurrency", f"{holders} runs hold a slot, limit {limit}")
            )
        if holders != active:
            violations.append(
                Violation(at, "concurrency", f"slot count {active} but {holders} runs hold one")
            )
    for run_id, status, holds_slot, started, queued_reason in runs:
        should = status in statuses.LIVE_RUN_STATUSES and started
        if holds_slot != should:
            held = "holds" if holds_slot else "does not hold"
            violations.append(Violation(run_id, "concurrency", f"{status} and {held} a slot"))
        if queued_reason is not None and status != statuses.PENDING:
            violations.append(Violation(run_id, "concurrency", f"{status} but queued"))
    return violations


def assert_invariants(
    run_ids: Iterable[str] | None = None,
    *,
    expect: Callable[[Run], Collection[str]] | None = None,
    overdue_after: datetime.timedelta | None = None,
) -> None:
    """`check`, raising `InvariantViolated` when any rule is broken."""
    violations = check(run_ids, expect=expect, overdue_after=overdue_after)
    if violations:
        raise InvariantViolated(violations)


@dataclass(frozen=True)
class _StepRun:
    id: str
    step_index: int
    step_name: str
    step_type: str
    status: str
    attempt: int
    output: dict | None
    state_updates: dict | None


@dataclass(frozen=True)
class _Approval:
    id: str
    decided: bool
    closed: bool
    awaited: bool


@dataclass(frozen=True)
class _Event:
    id: str
    sequence: int
    step_run_id: str | None
    event_type: str
    payload: dict


_RUNS = (
    "SELECT id, definition_id, status, version, next_run_at, input, state, initial_state,"
    " legacy_history, paused_reason FROM workflow_run"
)
_STEP_RUNS = (
    "SELECT run_id, id, step_index, step_name, step_type, status, attempt, output, state_updates"
    " FROM step_run"
)
#: Per definition and key: the limit, the runs holding a slot, and the key's slot count.
_SLOT_COUNTS = (
    "SELECT d.id, coalesce(h.key, s.key), (d.concurrency->>'limit')::int,"
    " coalesce(h.holders, 0), coalesce(s.active, 0)"
    " FROM (SELECT definition_id, concurrency_key AS key, count(*) AS holders"
    "  FROM workflow_run WHERE holds_slot GROUP BY 1, 2) AS h"
    " FULL JOIN concurrency_slot s ON s.definition_id = h.definition_id AND s.key = h.key"
    " JOIN workflow_definition d ON d.id = coalesce(h.definition_id, s.definition_id)"
)
#: The runs of limited definitions, and whether each holds a slot.
_LIMITED_RUNS = (
    "SELECT r.id, r.status, r.holds_slot, r.started_at IS NOT NULL, r.queued_reason"
    " FROM workflow_run r JOIN workflow_definition d ON d.id = r.definition_id"
    " AND d.concurrency IS NOT NULL"
)
#: Events in the order they were written: a change's `created_at` is taken after the version
#: it fences on was committed, and one change's ids increase.
_EVENTS = "SELECT run_id, id, sequence, step_run_id, event_type, payload FROM run_event"
_EVENT_ORDER = " ORDER BY run_id, sequence"
#: Each approval request, and whether its run still waits on it.
_APPROVALS = (
    "SELECT a.run_id, a.id, a.decision IS NOT NULL, a.closed_at IS NOT NULL, EXISTS ("
    " SELECT 1 FROM workflow_run r JOIN step_run s ON s.id = r.current_step_run_id"
    " WHERE r.id = a.run_id AND r.status = 'PAUSED' AND s.id = a.step_run_id"
    " AND s.attempt = a.attempt) FROM approval_request a"
)


def _load(
    ids: list[str] | None,
) -> tuple[list[Run], dict[str, list], dict[str, list], dict[str, list]]:
    where, params = ("", ()) if ids is None else (" WHERE {} = ANY(%s)", (ids,))
    opened = db.connect(reuse_if_open=True)
    try:
        with db.atomic():
            db.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            runs = [
                Run(*row) for row in db.execute_sql(_RUNS + where.format("id"), params).fetchall()
            ]
            step_runs: dict[str, list[_StepRun]] = {}
            for run_id, *row in db.execute_sql(
                _STEP_RUNS + where.format("run_id") + " ORDER BY run_id, created_at, id", params
            ):
                step_runs.setdefault(run_id, []).append(_StepRun(*row))
            events: dict[str, list[_Event]] = {}
            for run_id, *row in db.execute_sql(
                _EVENTS + where.format("run_id") + _EVENT_ORDER, params
            ):
                events.setdefault(run_id, []).append(_Event(*row))
            approvals: dict[str, list[_Approval]] = {}
            for run_id, *row in db.execute_sql(_APPROVALS + where.format("a.run_id"), params):
                approvals.setdefault(run_id, []).append(_Approval(*row))
    finally:
        if opened:
            db.close()
    return runs, step_runs, events, approvals


def _check_run(
    run: Run,
    step_runs: list[_StepRun],
    events: list[_Event],
    expect: Callable[[Run], Collection[str]] | None,
    overdue_after: datetime.timedelta | None,
    now: datetime.datetime,
) -> list[Violation]:
    problems: list[tuple[str, str]] = []
    if expect is not None:
        allowed = expect(run)
        if run.status not in allowed:
            problems.append(("status", f"is {run.status}, expected one of {sorted(allowed)}"))
    steps = definition_steps(run.definition_id)
    start = _first_step(steps, events)
    problems += [("path", problem) for problem in _path_problems(run, steps, step_runs, start)]
    problems += [("doubled", problem) for problem in _doubles(step_runs, events)]
    problems += [("event_sequence", problem) for problem in _replay(run, step_runs, events)]
    if [event.sequence for event in events] != list(range(1, len(events) + 1)):
        problems.append(("event_order", "the events' sequence is not 1, 2, 3... without gaps"))
    if run.version != len(events):
        problems.append(("version", f"version {run.version} but {len(events)} events"))
    problems += [("nothing_due", problem) for problem in _timer_problems(run, overdue_after, now)]
    problems += [("state", problem) for problem in _state_problems(run, step_runs, events)]
    problems += [("paused", problem) for problem in _pause_problems(run, events)]
    return [Violation(run.id, rule, detail) for rule, detail in problems]


def _first_step(steps: tuple[dict, ...], events: list[_Event]) -> int:
    """The step a run starts at: 0, or the step a rerun was made from."""
    for event in events:
        if event.event_type == "WORKFLOW_STARTED" and "fromStep" in event.payload:
            names = [step["name"] for step in steps]
            if event.payload["fromStep"] in names:
                return names.index(event.payload["fromStep"])
    return 0


def _path_problems(
    run: Run, steps: tuple[dict, ...], step_runs: list[_StepRun], start: int
) -> list[str]:
    """Step runs that do not match their step; for a COMPLETED run, a broken path from
    `start`."""
    problems = []
    for step_run in step_runs:
        index = step_run.step_index
        step = steps[index] if 0 <= index < len(steps) else None
        if step is None or (step["name"], step["type"]) != (step_run.step_name, step_run.step_type):
            problems.append(f"step run {step_run.id} does not match step {index} of its definition")
    if problems or run.status != statuses.COMPLETED:
        return problems
    # A step run that failed for good and was retried (WORKFLOW_RETRIED) stays FAILED; the
    # retry is a new step run of the same step, which the path goes on from.
    path = [
        step_run
        for step_run, following in zip(step_runs, [*step_runs[1:], None], strict=True)
        if not (
            step_run.status == statuses.FAILED
            and following is not None
            and following.step_index == step_run.step_index
        )
    ]
    if not path or path[0].step_index != start:
        return [f"a completed run whose step runs do not start at step {start}"]
    for before, after in itertools.pairwise(path):
        if after.step_index not in _successors(steps, before.step_index):
            problems.append(
                f"step {after.step_index} ({after.step_name}) cannot follow step "
                f"{before.step_index} ({before.step_name})"
            )
    unfinished = [s.id for s in path if s.status not in (statuses.COMPLETED, statuses.SKIPPED)]
    if unfinished:
        problems.append(f"a completed run with unfinished step runs {unfinished}")
    if path[-1].step_index != len(steps) - 1:
        problems.append(f"a completed run that ended at step {path[-1].step_index}")
    return problems


def _successors(steps: tuple[dict, ...], index: int) -> set[int]:
    """The steps that may come right after step `index`: the next one, or a condition's jumps.

    A forward jump records the steps it passes over as SKIPPED, so it too is followed by the
    next step's (skipped) step run.
    """
    after = {index + 1}
    step = steps[index]
    if step["type"] == "condition":
        names = {s["name"]: i for i, s in enumerate(steps)}
        after |= {names[step[key]] for key in ("trueStep", "falseStep") if step.get(key) in names}
    return after


def _doubles(step_runs: list[_StepRun], events: list[_Event]) -> list[str]:
    completed = Counter(e.step_run_id for e in events if e.event_type == "STEP_COMPLETED")
    started = Counter(
        (e.step_run_id, e.payload.get("attempt")) for e in events if e.event_type == "STEP_STARTED"
    )
    problems = [
        f"step run {step_run_id} completed {count} times"
        for step_run_id, count in completed.items()
        if count > 1
    ]
    problems += [
        f"attempt {attempt} of step run {step_run_id} started {count} times"
        for (step_run_id, attempt), count in started.items()
        if count > 1
    ]
    attempts = Counter(step_run_id for step_run_id, _ in started)
    problems += [
        f"step run {s.id} is at attempt {s.attempt} after {attempts[s.id]} started"
        for s in step_runs
        if s.status != statuses.SKIPPED and attempts[s.id] != s.attempt
    ]
    return problems


#: The run status each event moves a run to, whatever it was.
_RUN_TARGETS = {
    "WORKFLOW_STARTED": statuses.RUNNING,
    "WORKFLOW_WAITING": statuses.WAITING,
    "WORKFLOW_PAUSED": statuses.PAUSED,
    "WORKFLOW_COMPLETED": statuses.COMPLETED,
    "WORKFLOW_FAILED": statuses.FAILED,
    "WORKFLOW_CANCELLED": statuses.CANCELLED,
    "WORKFLOW_RETRIED": statuses.RUNNING,
    "APPROVAL_DECIDED": statuses.RUNNING,
}
#: Events that take a WAITING or PAUSED run back to RUNNING (the driver's `move(RUNNING, None)`:
#: a signal taken, a waiting step completed, or failed with a retry to come); otherwise none.
_WAKERS = frozenset({"SIGNAL_RECEIVED", "STEP_COMPLETED", "STEP_RETRYING"})
#: Events only a RUNNING run records; a run paused manually records the steps a jump passed
#: over, when the step it was at ends.
_WHILE_RUNNING = frozenset({"STEP_STARTED", "STEP_SKIPPED"})
#: The events that take a run out of a manual pause: the user's unpause or cancel, or a step
#: that failed for good. A step that ends while the run is paused leaves it PAUSED.
_ENDS_MANUAL_PAUSE = frozenset({"WORKFLOW_UNPAUSED", "WORKFLOW_FAILED", "WORKFLOW_CANCELLED"})


def _replay(run: Run, step_runs: list[_StepRun], events: list[_Event]) -> list[str]:
    """Replay the events against the state machine; what does not fit."""
    status = statuses.PENDING
    manual = False  # PAUSED by a user (else by an approval step)
    steps: dict[str, str] = {}  # step run id -> replayed status
    current: str | None = None  # the step run last started
    for number, event in enumerate(events, start=1):
        where = f"event {number} ({event.event_type})"
        if status in statuses.CLOSED_RUN_STATUSES:
            return [f"{where} recorded after the run was {status}"]
        skipped_while_paused = manual and event.event_type == "STEP_SKIPPED"
        if (
            event.event_type in _WHILE_RUNNING
            and status != statuses.RUNNING
            and not skipped_while_paused
        ):
            return [f"{where} recorded while the run was {status}"]
        target = _run_target(event, status, manual)
        if target is not None:
            problem = _pause_move_problem(event, status, target, manual)
            if problem:
                return [f"{where}: {problem}"]
            if target not in statuses.RUN_MOVES[status]:
                return [f"{where} moves the run from {status} to {target}"]
            if target == statuses.PAUSED:
                manual = _pauses_manually(event)
            elif status == statuses.PAUSED:
                manual = False
            status = target
        step_problem = _replay_step(event, steps, current)
        if step_problem:
            return [f"{where}: {step_problem}"]
        if event.event_type == "STEP_STARTED":
            current = event.step_run_id
    problems = []
    if status != run.status:
        problems.append(f"the events end at {status}, the run is {run.status}")
    for step_run in step_runs:
        replayed = steps.get(step_run.id)
        if replayed != step_run.status:
            problems.append(
                f"the events leave step run {step_run.id} {replayed}, it is {step_run.status}"
            )
    return problems


def _run_target(event: _Event, status: str, manual: bool) -> str | None:
    """The status an event moves the run to, or None when it does not move the run."""
    if event.event_type == "WORKFLOW_UNPAUSED":
        return str(event.payload.get("status"))  # back where the pause took it from
    target = _RUN_TARGETS.get(event.event_type)
    held = status in statuses.HELD_RUN_STATUSES and not manual
    if target is None and event.event_type in _WAKERS and held:
        target = statuses.RUNNING
    return target


def _pauses_manually(event: _Event) -> bool:
    return event.event_type == "WORKFLOW_PAUSED" and event.payload.get("reason") == statuses.MANUAL


def _pause_move_problem(event: _Event, status: str, target: str, manual: bool) -> str | None:
    """What is wrong with a move into or out of PAUSED, judged by the pause's reason."""
    if manual and event.event_type not in _ENDS_MANUAL_PAUSE:
        return f"moves a run paused manually to {target}: only unpause, a failure or a cancel do"
    if event.event_type == "WORKFLOW_UNPAUSED" and not manual:
        return f"unpauses a run that is {status}, not paused manually"
    pause = _pauses_manually(event) if target == statuses.PAUSED else manual
    if (status, target) in statuses.MANUAL_PAUSE_MOVES and not pause:
        return f"moves the run from {status} to {target}, which only a manual pause does"
    return None


def _replay_step(event: _Event, steps: dict[str, str], current: str | None) -> str | None:
    """Apply an event's step-run move to `steps`; what is wrong with it, if anything."""
    kind, step_run_id = event.event_type, event.step_run_id
    if kind == "WORKFLOW_CANCELLED":
        # The cancel's own event names no step run: it cancels the current one, if active.
        step_run_id = current
        target = statuses.CANCELLED
        if steps.get(current) not in (statuses.RUNNING, statuses.WAITING):
            return None
    elif kind == "STEP_STARTED":
        target = statuses.RUNNING
        if step_run_id not in steps:
            steps[step_run_id] = target
            return None
    elif kind == "STEP_SKIPPED":
        if step_run_id in steps:
            return f"step run {step_run_id} skipped after it was {steps[step_run_id]}"
        steps[step_run_id] = statuses.SKIPPED
        return None
    else:
        target = _step_target(event)
        if target is None:
            return None
    before = steps.get(step_run_id)
    if before is None:
        return f"step run {step_run_id} moves before it was started"
    if target not in statuses.STEP_MOVES[before]:
        return f"step run {step_run_id} moves from {before} to {target}"
    steps[step_run_id] = target
    return None


def _step_target(event: _Event) -> str | None:
    kind = event.event_type
    if kind == "STEP_COMPLETED":
        return statuses.COMPLETED
    if kind == "STEP_FAILED":
        return statuses.FAILED
    if kind in ("WORKFLOW_WAITING", "APPROVAL_REQUESTED"):
        return statuses.WAITING if event.step_run_id else None
    if kind == "APPROVAL_DECIDED" or (
        kind == "SIGNAL_RECEIVED" and event.payload.get("source") == "api"
    ):
        # A REST resume or a decision puts the step back to RUNNING for a worker to finish;
        # a broker signal is taken by the step itself, which completes in the same change.
        return statuses.RUNNING
    return None


def _state_problems(run: Run, step_runs: list[_StepRun], events: list[_Event]) -> list[str]:
    """The run's state, when it is not the fold of its step runs in the order it visited them."""
    if run.legacy_history:
        return []
    first = {}
    for event in events:
        if event.event_type in ("STEP_STARTED", "STEP_SKIPPED") and event.step_run_id not in first:
            first[event.step_run_id] = event.sequence
    ordered = sorted(step_runs, key=lambda s: first.get(s.id, len(events) + 1))
    visits = [
        Visit(s.step_name, s.status, merged_into_state(s.output, s.state_updates)) for s in ordered
    ]
    folded = fold(run.initial_state, visits)
    if folded == run.state:
        return []
    differ = sorted(
        key
        for key in {*folded, *run.state}
        if (key in folded, folded.get(key)) != (key in run.state, run.state.get(key))
    )
    return [f"its state is not its step runs' updates folded in order: {differ[:10]} differ"]


def _timer_problems(
    run: Run, overdue_after: datetime.timedelta | None, now: datetime.datetime
) -> list[str]:
    if run.status in _NEEDS_TIMER and run.next_run_at is None:
        return [f"{run.status} with nothing due (no next_run_at): nobody will move it"]
    if run.status in statuses.FINAL_RUN_STATUSES and run.next_run_at is not None:
        return [f"{run.status} but a timer is still set for {run.next_run_at}"]
    if (
        overdue_after is not None
        and run.next_run_at is not None
        and run.next_run_at < now - overdue_after
    ):
        return [f"{run.status} with a timer overdue since {run.next_run_at}"]
    return []


def _pause_problems(run: Run, events: list[_Event]) -> list[str]:
    """A PAUSED run's reason, and what a manual pause forbids: a timer, a step started."""
    problems = []
    if run.status == statuses.PAUSED and run.paused_reason not in statuses.PAUSED_REASONS:
        problems.append(f"PAUSED without a reason (paused_reason {run.paused_reason!r})")
    if run.status != statuses.PAUSED and run.paused_reason is not None:
        problems.append(f"{run.status} but still paused for {run.paused_reason}")
    if run.paused_reason == statuses.MANUAL and run.next_run_at is not None:
        problems.append(f"paused manually but a timer is set for {run.next_run_at}")
    manual = False
    for number, event in enumerate(events, start=1):
        if event.event_type == "STEP_STARTED" and manual:
            problems.append(
                f"event {number} starts step run {event.step_run_id} while the run is paused"
                " manually"
            )
        if event.event_type == "WORKFLOW_PAUSED":
            manual = _pauses_manually(event)
        elif event.event_type in _ENDS_MANUAL_PAUSE:
            manual = False
    return problems


def _approval_problems(approvals: list[_Approval]) -> list[str]:
    problems = []
    for approval in approvals:
        if approval.decided and approval.closed:
            problems.append(f"approval request {approval.id} is both decided and closed")
        elif approval.closed and approval.awaited:
            problems.append(f"approval request {approval.id} is closed, yet its run waits on it")
        elif not (approval.decided or approval.closed or approval.awaited):
            problems.append(
                f"approval request {approval.id} is undecided and its run no longer waits on "
                "it, but it is not closed"
            )
    return problems


def summary(violations: list[Violation]) -> dict[str, int]:
    """How many runs break each rule."""
    return {
        rule: len({v.run_id for v in violations if v.rule == rule})
        for rule in RULES
        if any(v.rule == rule for v in violations)
    }
