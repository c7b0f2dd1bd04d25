"""LLM calls: every call a step made to a model provider, with its tokens, cost and outcome."""

STATEMENTS = [
    """
    CREATE TABLE llm_call (
        id varchar(40) PRIMARY KEY,
        workspace_id varchar(40) NOT NULL REFERENCES workspace (id) ON DELETE CASCADE,
        run_id varchar(40) NOT NULL REFERENCES workflow_run (id) ON DELETE CASCADE,
        step_run_id varchar(40) NOT NULL REFERENCES step_run (id) ON DELETE CASCADE,
        attempt integer NOT NULL,
        provider varchar(30) NOT NULL,
        model varchar(200) NOT NULL,
        input_tokens integer NOT NULL,
        output_tokens integer NOT NULL,
        cost_usd numeric(18, 8) NOT NULL,
        duration_ms integer NOT NULL,
        outcome varchar(20) NOT NULL,
        error jsonb,
        created_at timestamp NOT NULL
    )
    """,
    "CREATE INDEX llm_call_run_id_id ON llm_call (run_id, id)",
    "CREATE INDEX llm_call_workspace_id_created_at ON llm_call (workspace_id, created_at)",
]


def up(migrator, db):
    for statement in STATEMENTS:
        db.execute_sql(statement)


def down(migrator, db):
    db.execute_sql("DROP TABLE llm_call")
