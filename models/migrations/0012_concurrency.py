"""Concurrency limits (SPEC section 9): a definition's `concurrency`, each run's slot, and the
count of slots taken per (definition, key).

`concurrency_slot.active` counts the runs of its definition and key that hold a slot
(`workflow_run.holds_slot`); `models.transitions` moves both in the transaction that starts or
ends such a run, so they never disagree, whatever crashes. The partial index finds the oldest
queued run of a key: the next to start.
"""

STATEMENTS = [
    "ALTER TABLE workflow_definition ADD COLUMN concurrency jsonb",
    "ALTER TABLE workflow_run ADD COLUMN concurrency_key text",
    "ALTER TABLE workflow_run ADD COLUMN queued_reason varchar(20)",
    "ALTER TABLE workflow_run ADD COLUMN holds_slot boolean NOT NULL DEFAULT false",
    """
    CREATE TABLE concurrency_slot (
        definition_id varchar(40) NOT NULL
            REFERENCES workflow_definition (id) ON DELETE CASCADE,
        key text NOT NULL,
        active integer NOT NULL CHECK (active >= 0),
        PRIMARY KEY (definition_id, key)
    ) WITH (fillfactor = 50)
    """,
    """
    CREATE INDEX workflow_run_queued
    ON workflow_run (definition_id, concurrency_key, created_at, id)
    WHERE status = 'PENDING' AND concurrency_key IS NOT NULL
    """,
]


def up(migrator, db):
    for statement in STATEMENTS:
        db.execute_sql(statement)


def down(migrator, db):
    db.execute_sql("DROP INDEX workflow_run_queued")
    db.execute_sql("DROP TABLE concurrency_slot")
    for column in ("holds_slot", "queued_reason", "concurrency_key"):
        db.execute_sql(f"ALTER TABLE workflow_run DROP COLUMN {column}")
    db.execute_sql("ALTER TABLE workflow_definition DROP COLUMN concurrency")
