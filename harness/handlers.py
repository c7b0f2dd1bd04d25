"""Task handlers and LLM tools for the suite and the fault runs.

The processes of both register them through `STEVORA_HANDLERS=harness.handlers`.
"""

from __future__ import annotations

import threading

from actors.registry import NonRetryableError, llm_tool, task_handler


@task_handler("add")
def add(ctx, config):
    """Adds `config.amount` to `state.total` (starting from `input.start`, else 0)."""
    total = ctx.state.get("total", ctx.input.get("start", 0))
    return {"total": total + config.get("amount", 1)}


@task_handler("record_attempt")
def record_attempt(ctx, config):
    return {f"{ctx.step_name}_key": ctx.idempotency_key, "attempt": ctx.attempt}


@task_handler("boom")
def boom(ctx, config):
    raise RuntimeError(config.get("message", "boom"))


@task_handler("refuse")
def refuse(ctx, config):
    raise NonRetryableError(config.get("message", "refused"))


@task_handler("not_a_dict")
def not_a_dict(ctx, config):
    return ["a", "list"]


_calls: dict[str, int] = {}


@task_handler("flaky")
def flaky(ctx, config):
    """Fails `config.failures` times per run, then succeeds; counts its calls per run."""
    key = f"{ctx.run_id}:{ctx.step_name}"
    _calls[key] = _calls.get(key, 0) + 1
    if _calls[key] <= config.get("failures", 2):
        raise RuntimeError(f"flaky failure {_calls[key]}")
    return {"calls": _calls[key], "attempt": ctx.attempt}


@task_handler("sleepy")
def sleepy(ctx, config):
    """Sleeps `config.seconds` (interruptible by a step timeout)."""
    import time

    deadline = time.monotonic() + config.get("seconds", 1)
    while time.monotonic() < deadline:
        time.sleep(0.01)
    return {"slept": config.get("seconds", 1)}


@task_handler("count")
def count(ctx, config):
    """Adds one to `state.n`."""
    return {"n": ctx.state.get("n", 0) + 1}


@task_handler("swallows_errors")
def swallows_errors(ctx, config):
    """Sleeps inside a broad `except Exception`, as careless handlers do."""
    import time

    try:
        time.sleep(config.get("seconds", 2))
    except Exception:
        return {"swallowed": True}
    return {"slept": True}


@task_handler("marker")
def marker(ctx, config):
    """Appends `start <key>` to the file `config.path`, sleeps `config.seconds`, appends `end`.

    The file tells a test, across processes, that the handler is running and how often it ran.
    """
    import time

    with open(config["path"], "a") as log:
        log.write(f"start {ctx.idempotency_key}\n")
    deadline = time.monotonic() + config.get("seconds", 1)
    while time.monotonic() < deadline:
        time.sleep(0.01)
    with open(config["path"], "a") as log:
        log.write(f"end {ctx.idempotency_key}\n")
    return {"marked": ctx.attempt}


@task_handler("fails_until")
def fails_until(ctx, config):
    """Fails attempts up to `config.failures`, then succeeds: the same answer however often
    an attempt runs (unlike `flaky`, which counts calls)."""
    if ctx.attempt <= config.get("failures", 1):
        raise RuntimeError(f"attempt {ctx.attempt} fails")
    return {"succeededAt": ctx.attempt}


class Gate:
    """Where `gated` steps wait: `entered` is set once a step reaches it (`calls` counts them),
    and steps go on once the test sets `opened`. A test and its in-process worker share it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()
        self.calls = 0


#: The gates of this process, by name.
GATES: dict[str, Gate] = {}


def gate(name: str) -> Gate:
    """The gate `name`, made on first use."""
    return GATES.setdefault(name, Gate())


@task_handler("gated")
def gated(ctx, config):
    """Waits at the gate `config.gate` until the test opens it (at most `config.seconds`, 30 by
    default), then fails while `ctx.attempt <= config.failures` (for good with `config.refuse`),
    else returns `config.result`."""
    door = gate(config["gate"])
    door.calls += 1
    door.entered.set()
    if not door.opened.wait(config.get("seconds", 30)):
        raise RuntimeError(f"gate {config['gate']} was never opened")
    if ctx.attempt <= config.get("failures", 0):
        if config.get("refuse"):
            raise NonRetryableError(f"attempt {ctx.attempt} refused")
        raise RuntimeError(f"attempt {ctx.attempt} fails")
    return config.get("result", {"passed": config["gate"]})


@llm_tool(
    "get_weather",
    description="The current weather in a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
)
def get_weather(ctx, arguments):
    """A fixed forecast, and the run that asked (to show the tool gets the step context)."""
    return {"city": arguments["city"], "tempC": 21, "sky": "clear", "askedBy": ctx.step_name}


@llm_tool("broken_sensor", description="Always fails.")
def broken_sensor(ctx, arguments):
    raise RuntimeError("sensor offline")


@llm_tool("forbidden", description="Refuses, which ends the step.")
def forbidden(ctx, arguments):
    raise NonRetryableError("this tool may not be used here")


@llm_tool("lookup", description="Looks a term up (for definitions that name a tool).")
def lookup(ctx, arguments):
    return {"found": False}


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


#: What `odd_result` returns for each `config.kind`: values a handler may well return by
#: mistake, none of which PostgreSQL's jsonb (or a worker) can keep.
ODD_RESULTS = {
    "nan": lambda: {"x": float("nan")},
    "infinity": lambda: {"x": float("-inf")},
    "nul": lambda: {"x": "a\u0000b"},
    "surrogate": lambda: {"x": "\ud800"},
    "nul_key": lambda: {"a\u0000": 1},
    "deep": lambda: {"x": _nested(1000)},
    "not_json": lambda: {"x": {1, 2}},
    "huge": lambda: {"x": "x" * (300 * 1024)},
    "cjk": lambda: {"x": "漢" * 90_000},
}


@task_handler("odd_result")
def odd_result(ctx, config):
    """Returns the odd value `config.kind` names (see `ODD_RESULTS`)."""
    return ODD_RESULTS[config["kind"]]()


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise ValueError("no message for you")


#: Exceptions `raises` raises for each `config.kind`.
RAISED = {
    "recursion": lambda: RecursionError("maximum recursion depth exceeded"),
    "memory": lambda: MemoryError(),
    "key": lambda: KeyError("missing"),
    "nul_message": lambda: RuntimeError("bad \u0000 byte"),
    "long_message": lambda: RuntimeError("x" * 100_000),
    "unprintable": lambda: _Unprintable(),
    "system_exit": lambda: SystemExit(3),
}


@task_handler("raises")
def raises(ctx, config):
    """Raises the exception `config.kind` names (see `RAISED`)."""
    raise RAISED[config["kind"]]()


#: (step run id, attempt) of every `probe` call in this process, to find attempts run twice.
PROBED: list[tuple[str, int]] = []


@task_handler("probe")
def probe(ctx, config):
    """Records its call (in `PROBED`, and in the file `config.log` when given), then does what
    `config.mode` says: return `config.value`, return an odd value (`config.kind`), raise
    (`config.kind`), or sleep `config.seconds`."""
    import time

    PROBED.append((ctx.step_run_id, ctx.attempt))
    if "log" in config:  # across processes: a worker in a subprocess
        with open(config["log"], "a") as log:
            log.write(f"{ctx.step_run_id} {ctx.attempt}\n")
    mode = config.get("mode", "return")
    if mode == "odd":
        return ODD_RESULTS[config["kind"]]()
    if mode == "raise":
        raise RAISED[config["kind"]]()
    if mode == "sleep":
        deadline = time.monotonic() + config.get("seconds", 0.1)
        while time.monotonic() < deadline:
            time.sleep(0.01)
    return {"probed": config.get("value")}


@task_handler("crash_once")
def crash_once(ctx, config):
    """Kills its whole worker (SIGKILL to the process group) the first time an attempt runs,
    leaving `<config.dir>/<step run id>-<attempt>` behind; the attempt run again returns.
    Every call is logged to `<config.dir>/calls`."""
    import os
    import signal
    from pathlib import Path

    folder = Path(config["dir"])
    with open(folder / "calls", "a") as log:
        log.write(f"{ctx.step_run_id} {ctx.attempt}\n")
    crashed = folder / f"{ctx.step_run_id}-{ctx.attempt}"
    if not crashed.exists():
        crashed.touch()
        os.killpg(os.getpgrp(), signal.SIGKILL)
    return {"survived": ctx.attempt}


#: The state each `remember` step run was entered with (what its first attempt saw), by step
#: run id: what a rerun from that step must start with.
ENTRY_STATES: dict[str, dict] = {}


@task_handler("remember")
def remember(ctx, config):
    """Keeps the state it was entered with (`ENTRY_STATES`), then sets `config.set` and counts
    one more `visits`."""
    if ctx.attempt == 1:
        ENTRY_STATES[ctx.step_run_id] = ctx.state
    return {**config.get("set", {}), "visits": ctx.state.get("visits", 0) + 1}
