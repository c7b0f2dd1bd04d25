"""The run lifecycle: signals, approval requests, and the run's current step run.

`current_step_run_id` lets the clock build a fenced command for a due run without a search.
"""

STATEMENTS = [
    "ALTER TABLE workflow_run ADD COLUMN current_step_run_id varchar(40)",
    """
    CREATE TABLE signal (
        id varchar(40) PRIMARY KEY,
        workspace_id varchar(40) NOT NULL REFERENCES workspace (id) ON DELETE CASCADE,
        run_id varchar(40) NOT NULL REFERENCES workflow_run (id) ON DELETE CASCADE,
        signal_type varchar(200) NOT NULL,
        payload jsonb NOT NULL,
        signal_key varchar(255),
        source varchar(10) NOT NULL,
        consumed_at timestamp,
        step_run_id varchar(40) REFERENCES step_run (id) ON DELETE CASCADE,
        created_at timestamp NOT NULL
    )
    """,
    "CREATE UNIQUE INDEX signal_run_id_signal_key ON signal (run_id, signal_key)",
    "CREATE INDEX signal_pending ON signal (run_id, signal_type, id) WHERE consumed_at IS NULL",
    """
    CREATE TABLE approval_request (
        id varchar(40) PRIMARY KEY,
        workspace_id varchar(40) NOT NULL REFERENCES workspace (id) ON DELETE CASCADE,
        run_id varchar(40) NOT NULL REFERENCES workflow_run (id) ON DELETE CASCADE,
        step_run_id varchar(40) NOT NULL REFERENCES step_run (id) ON DELETE CASCADE,
        attempt integer NOT NULL,
        step_name varchar(100) NOT NULL,
        content_key varchar(200) NOT NULL,
        content jsonb,
        prompt text,
        decision varchar(20),
        decided_by varchar(200),
        decided_at timestamp,
        edited_content jsonb,
        expires_at timestamp,
        created_at timestamp NOT NULL
    )
    """,
    "CREATE INDEX approval_request_workspace_id_id ON approval_request (workspace_id, id)",
    """
    CREATE UNIQUE INDEX approval_request_step_run_id_attempt
        ON approval_request (step_run_id, attempt)
    """,
]


def up(migrator, db):
    for statement in STATEMENTS:
        db.execute_sql(statement)


def down(migrator, db):
    db.execute_sql("DROP TABLE approval_request")
    db.execute_sql("DROP TABLE signal")
    db.execute_sql("ALTER TABLE workflow_run DROP COLUMN current_step_run_id")
