"""The RabbitMQ broker every actor binds to, made by the worker's setup (`actors`).

Publisher confirms are on so a send returns only once RabbitMQ has the message. Consumers
take only the messages that belong to their queue (`actors.consumer`). Messages and decode
errors appear in log lines cut short (`actors.message_log`).
"""

from __future__ import annotations

import dramatiq
from dramatiq.middleware import CurrentMessage, default_middleware

from actors.consumer import QueueBoundBroker
from actors.message_log import BriefJSONEncoder
from actors.middleware import DatabaseConnection, OneShutdownSignal
from models.config import Settings


def make_broker(settings: Settings) -> QueueBoundBroker:
    """The broker on `settings.broker_url`, set as Dramatiq's, for the actors to bind to."""
    dramatiq.set_encoder(BriefJSONEncoder())
    broker = QueueBoundBroker(
        url=settings.broker_url,
        confirm_delivery=True,
        # CurrentMessage: an actor asks whether RabbitMQ delivered its message again
        # (`actors.runs`).
        middleware=[m() for m in default_middleware]
        + [CurrentMessage(), DatabaseConnection(), OneShutdownSignal()],
    )
    dramatiq.set_broker(broker)
    return broker
