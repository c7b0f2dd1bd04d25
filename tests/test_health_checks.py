"""GET /health needs no key, so its broker check is kept: calls that come in a burst open one
RabbitMQ connection per interval, counted at a TCP proxy in front of the real broker."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import falcon.testing
import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker

from app.factory import create_app
from app.resources.health import QUEUE_CHECK_INTERVAL
from models.config import current
from tests.conftest import TEST_BROKER_URL, TEST_VHOST
from tests.counting_proxy import CountingProxy

OK = {"status": "ok", "checks": {"database": "ok", "queue": "ok"}}


@pytest.fixture
def proxy():
    broker_url = urlparse(TEST_BROKER_URL)
    proxy = CountingProxy((broker_url.hostname, broker_url.port or 5672))
    yield proxy
    proxy.close()


@pytest.fixture
def health(proxy):
    """A client of an app whose broker is reached through `proxy`."""
    broker = RabbitmqBroker(url=f"amqp://guest:guest@127.0.0.1:{proxy.port}/{TEST_VHOST}")
    return falcon.testing.TestClient(create_app(current(), broker=broker))


def test_fifty_calls_in_a_row_open_at_most_two_broker_connections(health, proxy):
    answers = [health.simulate_get("/health") for _ in range(50)]

    assert all((a.status_code, a.json) == (200, OK) for a in answers)
    assert 1 <= proxy.accepted <= 2


def test_calls_at_the_same_moment_share_one_check(health, proxy):
    start = threading.Barrier(20)

    def call():
        start.wait(timeout=10)
        return health.simulate_get("/health")

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: call(), range(20)))

    assert all((a.status_code, a.json) == (200, OK) for a in answers)
    assert proxy.accepted == 1


def test_an_outage_shows_once_the_kept_answer_is_older_than_the_interval(health, proxy):
    assert health.simulate_get("/health").status_code == 200
    proxy.close()  # RabbitMQ can no longer be reached
    assert health.simulate_get("/health").json == OK

    time.sleep(QUEUE_CHECK_INTERVAL + 0.1)

    answer = health.simulate_get("/health")
    assert answer.status_code == 503
    assert answer.json["checks"]["queue"].startswith("error: ")
    assert proxy.accepted == 1
