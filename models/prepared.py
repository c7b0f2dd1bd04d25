"""Server-side prepared statements for the hottest SQL, prepared once per connection.

A transition is one large statement; parsing and planning it costs PostgreSQL more than
running it. Its text depends only on the shape of the change (which columns, how many
events), so each shape is prepared once on each pooled connection and then executed.
"""

from __future__ import annotations

import hashlib
import itertools
import weakref
from typing import Any

from models.db import db

#: Statements prepared on one connection at most; beyond this, statements run unprepared.
MAX_PER_CONNECTION = 128

#: Connection -> {sql text: prepared statement name}; forgotten when the connection goes.
_prepared: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def execute(sql: str, params: list[Any]) -> Any:
    """Run `sql` (with `%s` placeholders only) as a prepared statement; return the cursor."""
    names = _prepared.setdefault(db.connection(), {})
    name = names.get(sql)
    if name is None:
        if len(names) >= MAX_PER_CONNECTION:
            return db.execute_sql(sql, params)
        name = statement_name(sql)
        db.execute_sql(f"PREPARE {name} AS {_numbered(sql)}")
        names[sql] = name
    placeholders = ", ".join(["%s"] * len(params))
    return db.execute_sql(f"EXECUTE {name} ({placeholders})", params)


def statement_name(sql: str) -> str:
    """The name `sql` is prepared under, on every connection."""
    return "stv_" + hashlib.blake2b(sql.encode(), digest_size=10).hexdigest()


def _numbered(sql: str) -> str:
    """`%s` placeholders as PostgreSQL's `$1, $2, ...`."""
    counter = itertools.count(1)
    parts = sql.split("%s")
    return "".join(
        part + (f"${next(counter)}" if i < len(parts) - 1 else "") for i, part in enumerate(parts)
    )
