"""The PostgreSQL handle every process shares: pooled, opened per request or per message.

It is bound to a database by the process's entry point (`bind_database`), as peewee's run-time
configuration goes; nothing connects at import, so gunicorn and dramatiq may fork after it.
"""

from __future__ import annotations

from urllib.parse import unquote, urlparse

from playhouse.pool import PooledPostgresqlDatabase

from models.config import Settings


def connect_params(url: str) -> dict:
    """Turn a `postgresql://user:password@host:port/name` URL into psycopg2 keywords."""
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got {url!r}")
    params = {
        "database": unquote(parsed.path.lstrip("/")) or "postgres",
        "user": unquote(parsed.username or "postgres"),
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
    }
    if parsed.password:
        params["password"] = unquote(parsed.password)
    return params


#: Unbound until `bind_database`: using it before raises peewee's "must be initialized".
db = PooledPostgresqlDatabase(None, autoconnect=False)


def bind_database(settings: Settings) -> PooledPostgresqlDatabase:
    """Point `db` at `settings.database_url`, with the pool and timeouts the settings give.

    Binding again to the same database and options changes nothing: the pool and its open
    connections stay.
    """
    options = database_options(settings)
    database = options.pop("database")
    if db.deferred or (db.database, db.connect_params) != (database, _connect_kwargs(options)):
        db.init(database, **options)
    return db


def _connect_kwargs(options: dict) -> dict:
    """What peewee's pooled database keeps of `options` as its connection parameters."""
    pool = ("max_connections", "stale_timeout", "timeout")
    return {name: value for name, value in options.items() if name not in pool}


def database_options(settings: Settings) -> dict:
    return {
        "max_connections": settings.database_pool_size,
        "stale_timeout": 300,
        "timeout": 10,
        "connect_timeout": 5,
        "options": f"-c statement_timeout={settings.statement_timeout_ms} -c timezone=UTC",
        **connect_params(settings.database_url),
    }


def ping() -> None:
    """Ask the database for `SELECT 1`, on this thread's connection or one opened for it.

    Raises what the pool or the driver raises when the database cannot answer.
    """
    opened = db.connect(reuse_if_open=True)
    try:
        db.execute_sql("SELECT 1")
    finally:
        if opened:
            db.close()
