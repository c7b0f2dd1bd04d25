"""A RabbitMQ broker whose consumers refuse messages that do not belong to their queue.

Dramatiq trusts a message's body: it runs the actor the body names and acks through the
consumer of the queue the body names. A message on `signals` whose body says `"queue_name":
"runs"` is acked on the wrong channel, so it stays unacknowledged on its own and holds one of
the consumer's prefetch slots for good: a few such messages stop the queue. One naming
`start_run` would run that actor from the signals queue, and `options` steer middleware
(`pipe_target` sends a message to any actor, `on_failure` calls one). Other services publish
to the signals queue, so every message is checked against the queue it came from before a
worker takes it; one that does not belong is dead-lettered to `<queue>.XQ`, its reason logged.
Messages are handed on as `BriefMessage`s, which Dramatiq's log lines show cut short.

Dramatiq has no public seam before a message is handed to a worker (middleware runs after, on
a thread that acks through the consumer the body names), so this subclasses its private
`_RabbitmqConsumer`: pyproject pins dramatiq to the exact version tested (2.2.1), and
`tests/test_broker_signals.py` publishes the hostile messages through it.
"""

from __future__ import annotations

import logging

from dramatiq.brokers.rabbitmq import RabbitmqBroker, _RabbitmqConsumer, _RabbitmqMessage
from dramatiq.common import dq_name, q_name

from actors.message_log import MAX_LOGGED_ID, BriefMessage, brief, message_id

logger = logging.getLogger(__name__)

#: Queues other services publish to (SPEC section 6).
OPEN_QUEUES = frozenset({"signals"})
#: The options Dramatiq itself puts on a message it retries; on a delay queue, `eta` too.
RETRY_OPTIONS = frozenset({"retries", "traceback", "requeue_timestamp"})


class QueueBoundConsumer(_RabbitmqConsumer):
    """Dramatiq's RabbitMQ consumer, which hands on only the messages of its own queue."""

    def __next__(self) -> BriefMessage | None:
        received = super().__next__()
        if received is None:
            return None
        message = BriefMessage(received.redelivered, received._tag, received._message)
        problem = self._problem(message)
        if problem is None:
            return message
        logger.warning(
            "message %s refused on queue %s, dead-lettered: %s",
            message_id(message),
            self.queue_name,
            problem,
        )
        self.known_tags.discard(message._tag)
        self._nack(message._tag)
        return None

    def _problem(self, message: _RabbitmqMessage) -> str | None:
        """What makes the message foreign to this queue; None when it belongs here."""
        if message.queue_name != self.queue_name:
            return f"queue_name is {brief(message.queue_name)}, not {self.queue_name!r}"
        actor = self.broker.actors.get(message.actor_name)
        if actor is None or actor.queue_name != q_name(self.queue_name):
            return f"no actor {brief(message.actor_name)} consumes queue {self.queue_name!r}"
        if not isinstance(message.kwargs, dict) or not isinstance(message.options, dict):
            return "kwargs and options must be JSON objects"
        # Dramatiq quotes the id whole in its log lines.
        if not isinstance(message.message_id, str) or len(message.message_id) > MAX_LOGGED_ID:
            return f"message_id must be a string of at most {MAX_LOGGED_ID} characters"
        if q_name(self.queue_name) in OPEN_QUEUES:
            delayed = self.queue_name == dq_name(self.queue_name)
            unknown = set(message.options) - RETRY_OPTIONS - ({"eta"} if delayed else set())
            if unknown:
                return f"options must be {{}}, not set {brief(sorted(unknown))}"
        return None


class QueueBoundBroker(RabbitmqBroker):
    """Dramatiq's RabbitMQ broker with `QueueBoundConsumer` consumers."""

    @property
    def consumer_class(self) -> type[QueueBoundConsumer]:
        return QueueBoundConsumer
