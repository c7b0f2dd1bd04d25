"""Claims of step attempts, and the event log's own order.

`leased_until`: while a worker runs a step attempt it holds the run's lease, renewed by a
heartbeat; a second command for the same attempt is dropped until the lease runs out, so no
attempt runs in two workers at once. `run_event.sequence`: 1, 2, 3... within a run, taken from
the run's version, so the event order never depends on the writing machine's clock.
"""

STATEMENTS = [
    "ALTER TABLE workflow_run ADD COLUMN leased_until timestamp",
    "ALTER TABLE run_event ADD COLUMN sequence integer",
    """
    UPDATE run_event AS e SET sequence = numbered.n
    FROM (
        SELECT id, row_number() OVER (PARTITION BY run_id ORDER BY created_at, id) AS n
        FROM run_event
    ) AS numbered
    WHERE e.id = numbered.id
    """,
    "ALTER TABLE run_event ALTER COLUMN sequence SET NOT NULL",
    "DROP INDEX run_event_run_id_id",
    "CREATE UNIQUE INDEX run_event_run_id_sequence ON run_event (run_id, sequence)",
]


def up(migrator, db):
    for statement in STATEMENTS:
        db.execute_sql(statement)


def down(migrator, db):
    db.execute_sql("DROP INDEX run_event_run_id_sequence")
    db.execute_sql("CREATE INDEX run_event_run_id_id ON run_event (run_id, id)")
    db.execute_sql("ALTER TABLE run_event DROP COLUMN sequence")
    db.execute_sql("ALTER TABLE workflow_run DROP COLUMN leased_until")
