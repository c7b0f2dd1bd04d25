"""Apply the versioned migrations in `models/migrations/` (the `release` step).

Creates the database when it does not exist yet, and holds a PostgreSQL advisory lock so two
releases started at once apply each migration once.
"""

from __future__ import annotations

import os

import psycopg2
from playhouse.migrations import Runner
from psycopg2 import sql

from models.db import connect_params, db

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), "migrations")

#: Arbitrary key of the advisory lock that serializes concurrent releases.
_LOCK_KEY = 74_511_001


def create_database(url: str) -> bool:
    """Create the database named in `url` if missing; True when it was created."""
    params = connect_params(url)
    name = params.pop("database")
    params["dbname"] = "postgres"
    conn = psycopg2.connect(connect_timeout=5, **params)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone():
                return False
            try:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except psycopg2.errors.DuplicateDatabase:
                return False
            return True
    finally:
        conn.close()


def migrate() -> list[str]:
    """Apply every pending migration; return the names applied."""
    with db.connection_context():
        db.execute_sql("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            return Runner(db, MIGRATIONS_DIR).up()
        finally:
            db.execute_sql("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
