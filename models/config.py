"""Every setting Stevora reads from the environment, read once into a `Settings` object.

A process's entry point (the web app, the worker setup, the clock, the CLI) reads them and
hands them to `configure`; the parts below ask `current()`. Defaults work on a development
machine with PostgreSQL and RabbitMQ on localhost.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

#: The providers' own APIs, used unless `OPENAI_BASE_URL` / `ANTHROPIC_BASE_URL` say otherwise.
OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
ANTHROPIC_DEFAULT_BASE_URL = "https://api.anthropic.com"


def _int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ValueError(f"environment variable {name} must be at least {minimum}, got {value}")
    return value


def _list(name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in os.environ.get(name, "").split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    #: PostgreSQL URL; the database is created by `stevora migrate` when missing.
    database_url: str
    #: Connections one process keeps in its pool.
    database_pool_size: int
    #: Longest a single SQL statement may run, in milliseconds.
    statement_timeout_ms: int
    #: RabbitMQ URL the workers consume from and the API publishes to.
    broker_url: str
    #: Token that guards creating and changing workspaces; unset disables those endpoints.
    admin_token: str | None
    #: Requests per second a workspace may make across every API process (bursts of twice
    #: that), unless it has a limit of its own; 0 turns rate limits off.
    rate_limit_per_s: int
    #: Modules imported at start-up so their task handlers register themselves.
    handler_modules: tuple[str, ...]
    #: HTTP port the web process binds.
    port: int
    #: gunicorn worker processes and threads per process.
    web_processes: int
    web_threads: int
    #: dramatiq worker processes and threads per process.
    worker_processes: int
    worker_threads: int
    #: How many steps one actor call may run back to back, and for how long (ms).
    inline_step_limit: int
    inline_time_budget_ms: int
    #: A command not acted on within this long is sent again by the clock (ms).
    redrive_after_ms: int
    #: How often the clock looks for due timers (ms).
    clock_interval_ms: int
    #: How long a worker's claim on a step attempt lasts unless its heartbeat renews it (ms):
    #: a worker that dies lets go of its attempts within this long.
    lease_ms: int
    #: The RabbitMQ user `stevora rabbitmq-setup` creates for services that publish signals,
    #: and its password (required by that command only).
    signal_publisher_user: str
    signal_publisher_password: str | None
    #: Model providers of LLM steps: API keys (never logged) and base URLs. A base URL other
    #: than OpenAI's own makes every model name not claimed by Anthropic go to that server.
    openai_api_key: str | None = field(repr=False)
    openai_base_url: str
    anthropic_api_key: str | None = field(repr=False)
    anthropic_base_url: str
    #: A JSON file of model prices that overrides or adds to the shipped table.
    llm_prices_path: str | None
    #: Time to connect to a provider, and to wait for its answer when a step sets no
    #: `timeoutMs` (ms).
    llm_connect_timeout_ms: int
    llm_read_timeout_ms: int
    #: Deliver webhooks to private, loopback and link-local addresses too (`1`); off by default.
    webhook_allow_private: bool
    #: Attempts of one webhook delivery before it is marked failed, and the first retry's
    #: delay (ms), doubled for each attempt after it.
    webhook_max_attempts: int
    webhook_backoff_ms: int

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get(
                "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/stevora"
            ),
            database_pool_size=_int("DATABASE_POOL_SIZE", 20),
            statement_timeout_ms=_int("DATABASE_STATEMENT_TIMEOUT_MS", 30_000),
            broker_url=os.environ.get("BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
            admin_token=os.environ.get("ADMIN_TOKEN") or None,
            rate_limit_per_s=_int("STEVORA_RATE_LIMIT_PER_S", 100, minimum=0),
            handler_modules=_list("STEVORA_HANDLERS"),
            port=_int("PORT", 8000),
            web_processes=_int("WEB_CONCURRENCY", 2),
            web_threads=_int("WEB_THREADS", 8),
            worker_processes=_int("STEVORA_WORKER_PROCESSES", 2),
            worker_threads=_int("STEVORA_WORKER_THREADS", 8),
            inline_step_limit=_int("STEVORA_INLINE_STEP_LIMIT", 50),
            inline_time_budget_ms=_int("STEVORA_INLINE_TIME_BUDGET_MS", 200),
            redrive_after_ms=_int("STEVORA_REDRIVE_AFTER_MS", 30_000),
            clock_interval_ms=_int("STEVORA_CLOCK_INTERVAL_MS", 1_000),
            lease_ms=_int("STEVORA_LEASE_MS", 10_000),
            signal_publisher_user=os.environ.get("STEVORA_SIGNAL_PUBLISHER_USER")
            or "stevora-signals",
            signal_publisher_password=os.environ.get("STEVORA_SIGNAL_PUBLISHER_PASSWORD") or None,
            openai_api_key=os.environ.get("OPENAI_API_KEY") or None,
            openai_base_url=os.environ.get("OPENAI_BASE_URL") or OPENAI_DEFAULT_BASE_URL,
            anthropic_api_key=os.environ.get("ANTHROPIC_API_KEY") or None,
            anthropic_base_url=os.environ.get("ANTHROPIC_BASE_URL") or ANTHROPIC_DEFAULT_BASE_URL,
            llm_prices_path=os.environ.get("STEVORA_LLM_PRICES") or None,
            llm_connect_timeout_ms=_int("STEVORA_LLM_CONNECT_TIMEOUT_MS", 5_000),
            llm_read_timeout_ms=_int("STEVORA_LLM_READ_TIMEOUT_MS", 60_000),
            webhook_allow_private=os.environ.get("WEBHOOK_ALLOW_PRIVATE") == "1",
            webhook_max_attempts=_int("STEVORA_WEBHOOK_MAX_ATTEMPTS", 10),
            webhook_backoff_ms=_int("STEVORA_WEBHOOK_BACKOFF_MS", 5_000),
        )


_current: Settings | None = None


def configure(settings: Settings) -> Settings:
    """Make `settings` this process's own; its entry point calls this before anything runs."""
    global _current
    _current = settings
    return settings


def current() -> Settings:
    """This process's settings: those configured, or the environment's when none were."""
    return _current if _current is not None else configure(Settings.from_env())
