"""The RabbitMQ broker every actor binds to; imported before any actor module.

Publisher confirms are on so a send returns only once RabbitMQ has the message.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.middleware import default_middleware

from actors.middleware import DatabaseConnection
from models.config import settings

broker = RabbitmqBroker(
    url=settings.broker_url,
    confirm_delivery=True,
    middleware=[m() for m in default_middleware] + [DatabaseConnection()],
)
dramatiq.set_broker(broker)
