"""Webhooks: endpoints a workspace subscribes, the deliveries owed to them, and each attempt.

A delivery is written in the transaction of the run event it announces (an outbox); the clock
finds the due ones through the partial index on `next_attempt_at`.
"""

STATEMENTS = [
    """
    CREATE TABLE webhook (
        id varchar(40) PRIMARY KEY,
        workspace_id varchar(40) NOT NULL REFERENCES workspace (id) ON DELETE CASCADE,
        url varchar(2048) NOT NULL,
        events jsonb NOT NULL,
        secret varchar(100) NOT NULL,
        created_at timestamp NOT NULL,
        deleted_at timestamp
    )
    """,
    "CREATE INDEX webhook_active ON webhook (workspace_id, id) WHERE deleted_at IS NULL",
    """
    CREATE TABLE webhook_delivery (
        id varchar(40) PRIMARY KEY,
        webhook_id varchar(40) NOT NULL REFERENCES webhook (id) ON DELETE CASCADE,
        run_id varchar(40) NOT NULL REFERENCES workflow_run (id) ON DELETE CASCADE,
        event_type varchar(40) NOT NULL,
        body text NOT NULL,
        status varchar(20) NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamp,
        completed_at timestamp,
        created_at timestamp NOT NULL
    )
    """,
    "CREATE INDEX webhook_delivery_webhook_id_id ON webhook_delivery (webhook_id, id)",
    """
    CREATE INDEX webhook_delivery_due ON webhook_delivery (next_attempt_at)
        WHERE status = 'pending'
    """,
    """
    CREATE TABLE webhook_attempt (
        delivery_id varchar(40) NOT NULL REFERENCES webhook_delivery (id) ON DELETE CASCADE,
        number integer NOT NULL,
        started_at timestamp NOT NULL,
        status_code integer,
        error text,
        duration_ms integer,
        PRIMARY KEY (delivery_id, number)
    )
    """,
]


def up(migrator, db):
    for statement in STATEMENTS:
        db.execute_sql(statement)


def down(migrator, db):
    db.execute_sql("DROP TABLE webhook_attempt")
    db.execute_sql("DROP TABLE webhook_delivery")
    db.execute_sql("DROP TABLE webhook")
