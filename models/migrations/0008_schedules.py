"""Schedules: a definition started on a cron expression or an interval, and the run's
`schedule_id`.

The clock finds due schedules through the partial index on `next_fire_at`: paused and deleted
ones are not in it. `last_run_id` is the run the last fire started, which `overlap: skip`
waits on.
"""

STATEMENTS = [
    """
    CREATE TABLE schedule (
        id varchar(40) PRIMARY KEY,
        workspace_id varchar(40) NOT NULL REFERENCES workspace (id) ON DELETE CASCADE,
        definition_id varchar(40) NOT NULL REFERENCES workflow_definition (id) ON DELETE RESTRICT,
        cron varchar(100),
        interval_ms bigint,
        timezone varchar(64) NOT NULL,
        input jsonb NOT NULL,
        overlap varchar(10) NOT NULL,
        paused boolean NOT NULL DEFAULT false,
        next_fire_at timestamp,
        last_run_id varchar(40) REFERENCES workflow_run (id) ON DELETE SET NULL,
        created_at timestamp NOT NULL,
        updated_at timestamp NOT NULL,
        deleted_at timestamp,
        CHECK ((cron IS NULL) <> (interval_ms IS NULL))
    )
    """,
    "CREATE INDEX schedule_active ON schedule (workspace_id, id) WHERE deleted_at IS NULL",
    """
    CREATE INDEX schedule_due ON schedule (next_fire_at)
        WHERE NOT paused AND deleted_at IS NULL
    """,
    """
    ALTER TABLE workflow_run
        ADD COLUMN schedule_id varchar(40) REFERENCES schedule (id) ON DELETE SET NULL
    """,
    """
    CREATE INDEX workflow_run_schedule_id_created_at ON workflow_run (schedule_id, created_at)
        WHERE schedule_id IS NOT NULL
    """,
]


def up(migrator, db):
    for statement in STATEMENTS:
        db.execute_sql(statement)


def down(migrator, db):
    db.execute_sql("ALTER TABLE workflow_run DROP COLUMN schedule_id")
    db.execute_sql("DROP TABLE schedule")
