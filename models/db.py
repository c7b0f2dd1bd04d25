"""The PostgreSQL handle every process shares: pooled, opened per request or per message.

No connection is opened at import, so gunicorn and dramatiq may fork after importing this.
"""

from __future__ import annotations

from urllib.parse import unquote, urlparse

from playhouse.pool import PooledPostgresqlDatabase

from models.config import settings


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


def make_database(url: str) -> PooledPostgresqlDatabase:
    return PooledPostgresqlDatabase(
        autoconnect=False,
        max_connections=settings.database_pool_size,
        stale_timeout=300,
        timeout=10,
        connect_timeout=5,
        options=f"-c statement_timeout={settings.statement_timeout_ms} -c timezone=UTC",
        **connect_params(url),
    )


db = make_database(settings.database_url)


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
