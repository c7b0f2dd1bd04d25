"""The `stevora` command for operators: migrate, create a workspace, start services, run it all.

`stevora migrate` is the Procfile's `release` step; `stevora up` starts the whole system on one
machine; `stevora rabbitmq-setup` prepares the broker for services that publish signals.
Database connections are opened inside the commands only, never at import.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlparse

import dramatiq.errors
import peewee
import pika.exceptions
import psycopg2
from honcho.environ import parse_procfile

from app.local_services import ServiceMissing, ensure_running
from models import config
from models.db import bind_database, connect_params, db
from models.keys import SlugTaken, create_workspace
from models.migrate import create_database, migrate

#: The source checkout this package runs from: the parent of the `app/` package.
REPO_ROOT = Path(__file__).resolve().parent.parent

#: Procfile entries `stevora up` runs, in this order, when present. `release` is not one of
#: them: it exits when done, and honcho stops every process when one exits.
LONG_RUNNING = ("web", "worker", "clock")

#: A workspace slug, as the API accepts it (SPEC section 2).
SLUG = re.compile(r"^[a-z0-9-]{1,50}$")


class CommandFailed(Exception):
    """A command cannot go on; its message is printed to stderr and the exit code is 1."""


def main(argv: list[str] | None = None, settings: config.Settings | None = None) -> int:
    """The `stevora` command, with `settings` (by default the environment's)."""
    args = _parser().parse_args(argv)
    bind_database(config.configure(settings or config.Settings.from_env()))
    try:
        return args.command(args)
    except (CommandFailed, ServiceMissing, SlugTaken) as exc:
        print(f"stevora: {exc}", file=sys.stderr)
    except (psycopg2.OperationalError, peewee.OperationalError) as exc:
        where = connect_params(config.current().database_url)
        print(
            f"stevora: cannot use PostgreSQL at {where['host']}:{where['port']} "
            f"(DATABASE_URL): {str(exc).strip()}",
            file=sys.stderr,
        )
    return 1


def migrate_command(args: argparse.Namespace) -> int:
    """Create the database when missing and apply pending migrations."""
    name = connect_params(config.current().database_url)["database"]
    if create_database(config.current().database_url):
        print(f"Created database {name}.")
    applied = migrate()
    for migration in applied:
        print(f"Applied migration {migration}.")
    if not applied:
        print(f"Nothing to apply: database {name} is up to date.")
    return 0


def create_workspace_command(args: argparse.Namespace) -> int:
    """Create a workspace and print its first API key, which is shown this once only."""
    try:
        with db.connection_context():
            workspace, key, raw_key = create_workspace(args.name, args.slug)
    except peewee.ProgrammingError as exc:
        first_line = str(exc).splitlines()[0]
        raise CommandFailed(f"{first_line}: run `stevora migrate` first") from None
    print(f"Workspace: {workspace.id} ({workspace.slug})")
    print(f"API key:   {raw_key}")
    print(f"           (key id {key.id}; shown this once only, store it now)")
    print(
        f"Try: curl -s -H 'x-api-key: {raw_key}' "
        f"http://127.0.0.1:{config.current().port}/v1/workspaces/current"
    )
    return 0


def services_command(args: argparse.Namespace) -> int:
    """Start this machine's PostgreSQL and RabbitMQ when installed but stopped."""
    database, broker = _service_addresses()
    ensure_running(*database, *broker)
    print(f"PostgreSQL answers on {database[0]}:{database[1]}.")
    print(f"RabbitMQ answers on {broker[0]}:{broker[1]}.")
    return 0


def up_command(args: argparse.Namespace) -> NoReturn:
    """Services, migrations, then the Procfile's long-running processes under honcho."""
    procfile = REPO_ROOT / "Procfile"
    if not procfile.is_file():
        raise CommandFailed(
            f"no Procfile at {procfile}: `stevora up` runs from a source checkout "
            "installed with `pip install -e .`"
        )
    entries = parse_procfile(procfile.read_text()).processes
    names = [name for name in LONG_RUNNING if name in entries]
    services_command(args)
    migrate_command(args)
    print(
        f"Starting {', '.join(names)}. Stevora listens on http://127.0.0.1:{config.current().port}"
    )
    print("Get an API key: stevora create-workspace --name Acme --slug acme")
    sys.stdout.flush()
    os.chdir(REPO_ROOT)
    # honcho gives each process a PORT counted from its base port: web comes first, so it
    # gets exactly the configured port.
    honcho = [sys.executable, "-m", "honcho", "start", "-f", str(procfile)]
    os.execv(
        sys.executable, [*honcho, "-d", str(REPO_ROOT), "-p", str(config.current().port), *names]
    )


def clock_command(args: argparse.Namespace) -> int:
    """Run the clock: due timers (waits, retries, timeouts, redrives) become commands."""
    from actors import clock  # imports the broker and the handler modules

    clock.main()
    return 0


def rabbitmq_setup_command(args: argparse.Namespace) -> int:
    """Declare the queues, the signals exchange and its binding; create the publisher user."""
    from actors import broker, topology  # imports the broker and the actors: their queues

    user, password = (
        config.current().signal_publisher_user,
        config.current().signal_publisher_password,
    )
    vhost = topology.vhost_of(config.current().broker_url)
    try:
        if not args.skip_user:
            if password is None:
                raise CommandFailed(
                    "set STEVORA_SIGNAL_PUBLISHER_PASSWORD to the signal publisher's password "
                    "(or pass --skip-user)"
                )
            topology.check_password(password)
        topology.declare_topology(broker, config.current().broker_url)
        queues = ", ".join(sorted(broker.get_declared_queues()))
        print(f"Declared queues {queues} (with their .DQ and .XQ) on vhost {vhost}.")
        print(
            f"Declared exchange {topology.SIGNALS_EXCHANGE}, bound to queue "
            f"{topology.SIGNALS_QUEUE} with routing key {topology.SIGNALS_QUEUE}."
        )
        if args.skip_user:
            return 0
        created = topology.set_up_publisher(user, password, vhost)
    except topology.SetupFailed as exc:
        raise CommandFailed(str(exc)) from None
    except (dramatiq.errors.BrokerConnectionError, pika.exceptions.AMQPError) as exc:
        host, port = _service_addresses()[1]
        reason = str(exc) or type(exc).__name__
        message = f"cannot set up RabbitMQ at {host}:{port} (BROKER_URL): {reason}"
        raise CommandFailed(message) from None
    print(
        f"{'Created' if created else 'Updated'} user {user}: it may publish to exchange "
        f"{topology.SIGNALS_EXCHANGE} only, on vhost {vhost}."
    )
    return 0


def _service_addresses() -> tuple[tuple[str, int], tuple[str, int]]:
    database = connect_params(config.current().database_url)
    broker = urlparse(config.current().broker_url)
    broker_port = broker.port or (5671 if broker.scheme == "amqps" else 5672)
    return (database["host"], database["port"]), (broker.hostname or "127.0.0.1", broker_port)


def _name(value: str) -> str:
    if not 1 <= len(value) <= 100:
        raise argparse.ArgumentTypeError("a name has 1 to 100 characters")
    return value


def _slug(value: str) -> str:
    if not SLUG.match(value):
        raise argparse.ArgumentTypeError("a slug has 1 to 50 characters among a-z, 0-9 and -")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stevora", description="Operate Stevora, the durable workflow engine."
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    commands.add_parser(
        "migrate", help="create the database if missing and apply migrations"
    ).set_defaults(command=migrate_command)
    create = commands.add_parser(
        "create-workspace", help="create a workspace and print its first API key"
    )
    create.add_argument("--name", required=True, type=_name, help="display name, e.g. Acme")
    create.add_argument("--slug", required=True, type=_slug, help="unique slug, e.g. acme")
    create.set_defaults(command=create_workspace_command)
    commands.add_parser(
        "services", help="start local PostgreSQL and RabbitMQ when installed but stopped"
    ).set_defaults(command=services_command)
    commands.add_parser(
        "clock", help="run the clock process (timers to commands); safe to run in copies"
    ).set_defaults(command=clock_command)
    commands.add_parser(
        "up", help="services, migrations, then web and worker (the whole system)"
    ).set_defaults(command=up_command)
    setup = commands.add_parser(
        "rabbitmq-setup",
        help="declare the queues and the signals exchange; create the signal publisher user",
    )
    setup.add_argument(
        "--skip-user",
        action="store_true",
        help="declare only (create the user on the broker host with rabbitmq/signal-publisher.sh)",
    )
    setup.set_defaults(command=rabbitmq_setup_command)
    return parser
