"""The first schema: workspaces, keys, definitions, runs, step runs and run events.

Plain SQL, frozen here on purpose: later changes to the models do not rewrite history.
"""

STATEMENTS = [
    """
    CREATE TABLE workspace (
        id varchar(40) PRIMARY KEY,
        name varchar(100) NOT NULL,
        slug varchar(50) NOT NULL UNIQUE,
        created_at timestamp NOT NULL,
        updated_at timestamp NOT NULL
    )
    """,
    """
    CREATE TABLE api_key (
        id varchar(40) PRIMARY KEY,
        workspace_id varchar(40) NOT NULL REFERENCES workspace (id) ON DELETE CASCADE,
        name varchar(100) NOT NULL,
        key_hash varchar(64) NOT NULL UNIQUE,
        last_used_at timestamp,
        revoked_at timestamp,
        created_at timestamp NOT NULL
    )
    """,
    "CREATE INDEX api_key_workspace_id ON api_key (workspace_id)",
    """
    CREATE TABLE workflow_definition (
        id varchar(40) PRIMARY KEY,
        workspace_id varchar(40) NOT NULL REFERENCES workspace (id) ON DELETE CASCADE,
        name varchar(200) NOT NULL,
        version varchar(50) NOT NULL,
        description text,
        steps jsonb NOT NULL,
        created_at timestamp NOT NULL
    )
    """,
    """
    CREATE UNIQUE INDEX workflow_definition_workspace_id_name_version
        ON workflow_definition (workspace_id, name, version)
    """,
    """
    CREATE TABLE workflow_run (
        id varchar(40) PRIMARY KEY,
        workspace_id varchar(40) NOT NULL REFERENCES workspace (id) ON DELETE CASCADE,
        definition_id varchar(40) NOT NULL REFERENCES workflow_definition (id) ON DELETE RESTRICT,
        status varchar(20) NOT NULL,
        current_step_index integer,
        current_step_name varchar(100),
        input jsonb NOT NULL,
        state jsonb NOT NULL,
        output jsonb,
        error jsonb,
        total_cost_cents numeric(16, 6) NOT NULL DEFAULT 0,
        steps_executed integer NOT NULL DEFAULT 0,
        started_at timestamp,
        completed_at timestamp,
        failed_at timestamp,
        cancelled_at timestamp,
        next_run_at timestamp,
        idempotency_key varchar(255),
        version integer NOT NULL DEFAULT 0,
        created_at timestamp NOT NULL,
        updated_at timestamp NOT NULL
    )
    """,
    "CREATE INDEX workflow_run_status ON workflow_run (status)",
    "CREATE INDEX workflow_run_definition_id ON workflow_run (definition_id)",
    "CREATE INDEX workflow_run_next_run_at ON workflow_run (next_run_at)",
    """
    CREATE UNIQUE INDEX workflow_run_workspace_id_idempotency_key
        ON workflow_run (workspace_id, idempotency_key)
    """,
    "CREATE INDEX workflow_run_workspace_id_created_at ON workflow_run (workspace_id, created_at)",
    """
    CREATE TABLE step_run (
        id varchar(40) PRIMARY KEY,
        run_id varchar(40) NOT NULL REFERENCES workflow_run (id) ON DELETE CASCADE,
        step_index integer NOT NULL,
        step_name varchar(100) NOT NULL,
        step_type varchar(30) NOT NULL,
        status varchar(20) NOT NULL,
        attempt integer NOT NULL DEFAULT 1,
        output jsonb,
        error jsonb,
        started_at timestamp,
        completed_at timestamp,
        duration_ms integer,
        created_at timestamp NOT NULL
    )
    """,
    "CREATE INDEX step_run_run_id ON step_run (run_id)",
    """
    CREATE TABLE run_event (
        id varchar(40) PRIMARY KEY,
        run_id varchar(40) NOT NULL REFERENCES workflow_run (id) ON DELETE CASCADE,
        step_run_id varchar(40) REFERENCES step_run (id) ON DELETE CASCADE,
        event_type varchar(40) NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamp NOT NULL
    )
    """,
    "CREATE INDEX run_event_run_id ON run_event (run_id)",
    "CREATE INDEX run_event_step_run_id ON run_event (step_run_id)",
]


def up(migrator, db):
    for statement in STATEMENTS:
        db.execute_sql(statement)


def down(migrator, db):
    for table in ("run_event", "step_run", "workflow_run", "workflow_definition", "api_key"):
        db.execute_sql(f"DROP TABLE {table}")
    db.execute_sql("DROP TABLE workspace")
