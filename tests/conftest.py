"""Fixtures on the real services: a database and a RabbitMQ vhost of the suite's own.

The environment is set first: the processes the suite starts (workers, gunicorn, the clock)
read their settings from it, and so does this one (`models.config.current()`), once, when the
actors are imported below.
"""

from __future__ import annotations

import os
import subprocess
import threading
from urllib.parse import urlparse

TEST_DATABASE_URL = os.environ.get(
    "STEVORA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/stevora_test"
)
TEST_VHOST = os.environ.get("STEVORA_TEST_VHOST", "stevora_test")
TEST_BROKER_URL = f"amqp://guest:guest@127.0.0.1:5672/{TEST_VHOST}"
ADMIN_TOKEN = "test-admin-token"

os.environ["DATABASE_URL"] = TEST_DATABASE_URL
os.environ["BROKER_URL"] = TEST_BROKER_URL
os.environ["ADMIN_TOKEN"] = ADMIN_TOKEN
os.environ["STEVORA_HANDLERS"] = "harness.handlers"
# Timers in tests are milliseconds to a second: the clock looks often.
os.environ["STEVORA_CLOCK_INTERVAL_MS"] = "50"
# A dead worker lets go of its step attempts within this long (ms).
os.environ["STEVORA_LEASE_MS"] = "2000"
# The suite calls faster than any client; every request still takes its token. The limits
# themselves are tested at rates of their own (tests/test_rate_limits.py).
os.environ["STEVORA_RATE_LIMIT_PER_S"] = "100000"

import pytest  # noqa: E402

from app.local_services import ensure_running  # noqa: E402


def _prepare_services() -> None:
    db_url, broker_url = urlparse(TEST_DATABASE_URL), urlparse(TEST_BROKER_URL)
    ensure_running(db_url.hostname, db_url.port or 5432, broker_url.hostname, broker_url.port)
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", TEST_VHOST], check=True)
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", TEST_VHOST, "guest", ".*", ".*", ".*"],
        check=True,
    )


_prepare_services()

import falcon.testing  # noqa: E402
from dramatiq import Worker  # noqa: E402

import actors  # noqa: E402
from app.factory import create_app  # noqa: E402
from models import TABLES  # noqa: E402
from models.config import current  # noqa: E402
from models.db import db  # noqa: E402
from models.keys import create_workspace  # noqa: E402
from models.migrate import create_database, migrate  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def schema():
    """A fresh schema for the session, built by the real migrations."""
    create_database(TEST_DATABASE_URL)
    with db.connection_context():
        db.execute_sql("DROP SCHEMA IF EXISTS public CASCADE")
        db.execute_sql("CREATE SCHEMA public")
    migrate()
    yield


@pytest.fixture(autouse=True)
def clean(schema):
    """Empty tables and queues before each test; the test thread holds its own connection."""
    db.connect(reuse_if_open=True)
    names = ", ".join(table._meta.table_name for table in TABLES)
    db.execute_sql(f"TRUNCATE {names} CASCADE")
    actors.broker.flush_all()
    yield
    if not db.is_closed():
        db.close()


@pytest.fixture
def broker():
    return actors.broker


@pytest.fixture
def worker(broker):
    """An in-process Dramatiq worker consuming the suite's vhost."""
    worker = Worker(broker, worker_timeout=50, worker_threads=4)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def clock():
    """The clock, ticking in a thread of the test process."""
    from actors import clock as clock_module

    stop = threading.Event()
    thread = threading.Thread(target=clock_module.run, args=(stop, current()), daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=5)


@pytest.fixture
def openai(monkeypatch):
    """A local OpenAI-compatible server the llm steps of this test call."""
    from tests.llm_servers import OPENAI, FakeProvider, point_at

    with FakeProvider(OPENAI) as server:
        point_at(monkeypatch, openai=server)
        yield server


@pytest.fixture
def client():
    return falcon.testing.TestClient(create_app(current()))


@pytest.fixture
def workspace():
    """A workspace and its raw API key: (workspace, key)."""
    ws, _, raw_key = create_workspace("Acme", "acme")
    return ws, raw_key


@pytest.fixture
def other_workspace():
    ws, _, raw_key = create_workspace("Other", "other")
    return ws, raw_key


@pytest.fixture
def auth(workspace):
    """Headers that authenticate as `workspace`."""
    return {"x-api-key": workspace[1]}
