"""Rate limits (SPEC section 9): a workspace's own limit, and the token bucket of each workspace.

`workspace.rate_limit_per_s` is null while the workspace keeps the default
(`STEVORA_RATE_LIMIT_PER_S`). `rate_limit_bucket` is UNLOGGED: every request writes its row, and
an unlogged table writes no WAL, so that commit waits for no disk flush (nor for a replica). A
crash empties it, which only gives every workspace a full bucket again. The fill factor leaves
room on each page for a row's next version, so an update stays on its page (HOT) and touches
no index.
"""

STATEMENTS = [
    "ALTER TABLE workspace ADD COLUMN rate_limit_per_s integer CHECK (rate_limit_per_s > 0)",
    """
    CREATE UNLOGGED TABLE rate_limit_bucket (
        workspace_id varchar(40) PRIMARY KEY REFERENCES workspace (id) ON DELETE CASCADE,
        tokens double precision NOT NULL,
        refilled_at timestamptz NOT NULL,
        granted boolean NOT NULL
    ) WITH (fillfactor = 50)
    """,
]


def up(migrator, db):
    for statement in STATEMENTS:
        db.execute_sql(statement)


def down(migrator, db):
    db.execute_sql("DROP TABLE rate_limit_bucket")
    db.execute_sql("ALTER TABLE workspace DROP COLUMN rate_limit_per_s")
