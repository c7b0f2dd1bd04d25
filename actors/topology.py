"""Declare queues, the signals exchange and binding; create the publisher user.

`stevora rabbitmq-setup` runs this with the admin `BROKER_URL`, where `rabbitmqctl` reaches the
broker's node. RabbitMQ permissions cannot restrict routing keys on the default exchange (write
on `amq.default` reaches every queue), so a service that may only send signals writes to the
direct exchange `stevora.signals`, bound to the `signals` queue, and to nothing else. Every
step is idempotent: running it again updates the password and changes nothing else.
"""

from __future__ import annotations

import subprocess

import pika
from dramatiq.brokers.rabbitmq import RabbitmqBroker

#: The exchange signal publishers write to: direct and durable.
SIGNALS_EXCHANGE = "stevora.signals"
#: The queue `deliver_signal` consumes; also the routing key that reaches it from the exchange.
SIGNALS_QUEUE = "signals"
#: The publisher's configure, write and read patterns on the vhost: write to the exchange only.
PUBLISHER_PERMISSIONS = ("^$", r"^stevora\.signals$", "^$")
#: `rabbitmqctl` exits with this when the user it names does not exist (EX_NOUSER).
NO_SUCH_USER = 67


class SetupFailed(Exception):
    """RabbitMQ refused a setup step, or `rabbitmqctl` cannot be run."""


def declare_topology(broker: RabbitmqBroker, url: str) -> None:
    """Declare every actor's queue as Dramatiq does, then the signals exchange and binding.

    Dramatiq declares the queues, so their dead-letter arguments are its own (a queue declared
    again with other arguments is refused).
    """
    for queue_name in sorted(broker.get_declared_queues()):
        broker.declare_queue(queue_name, ensure=True)
    with pika.BlockingConnection(pika.URLParameters(url)) as connection:
        channel = connection.channel()
        channel.exchange_declare(SIGNALS_EXCHANGE, exchange_type="direct", durable=True)
        channel.queue_bind(SIGNALS_QUEUE, SIGNALS_EXCHANGE, routing_key=SIGNALS_QUEUE)


def set_up_publisher(user: str, password: str, vhost: str) -> bool:
    """Create the publisher user, or set its password; let it write to the exchange only.

    Returns True when the user is new. The password goes to `rabbitmqctl` on its standard
    input, never on its command line; `rabbitmqctl` trims it, so edge whitespace is refused.

    Raises:
      SetupFailed: an unusable password, or a `rabbitmqctl` call that failed.
    """
    check_password(password)
    created = False
    try:
        _rabbitmqctl("change_password", user, stdin=password)
    except _NoSuchUser:
        _rabbitmqctl("add_user", user, stdin=password)
        created = True
    _rabbitmqctl("set_permissions", "-p", vhost, user, *PUBLISHER_PERMISSIONS)
    return created


def check_password(password: str) -> None:
    """Raise `SetupFailed` for a password `rabbitmqctl` would not take as it is."""
    if not password or password != password.strip() or "\n" in password or "\r" in password:
        raise SetupFailed(
            "the signal publisher's password must be one line, not empty, without whitespace "
            "at either end"
        )


def vhost_of(url: str) -> str:
    """The vhost a broker URL names (`/` for an empty path or `%2F`)."""
    return pika.URLParameters(url).virtual_host


class _NoSuchUser(SetupFailed):
    pass


def _rabbitmqctl(*args: str, stdin: str | None = None) -> str:
    try:
        done = subprocess.run(
            ["rabbitmqctl", "--quiet", *args],
            input=None if stdin is None else stdin + "\n",
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SetupFailed(f"cannot run rabbitmqctl: {exc}") from None
    if done.returncode == NO_SUCH_USER:
        raise _NoSuchUser(done.stderr.strip())
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip()
        raise SetupFailed(f"rabbitmqctl {args[0]} failed ({done.returncode}): {message}")
    return done.stdout
