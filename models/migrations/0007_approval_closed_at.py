"""`approval_request.closed_at`: when the run stopped waiting on a request nobody decided.

A request is pending, decided (`decided_at`) or closed (`closed_at`). Requests closed before
this migration (their run cancelled, or their approval step failed) get the time of the event
that ended the wait: the first one after the request's APPROVAL_REQUESTED but the
WORKFLOW_PAUSED that came with it, else the run's last update.
"""

STATEMENTS = [
    "ALTER TABLE approval_request ADD COLUMN closed_at timestamp",
    """
    UPDATE approval_request AS a SET closed_at = COALESCE(
        (
            SELECT e.created_at FROM run_event AS e
            WHERE e.run_id = a.run_id AND e.event_type <> 'WORKFLOW_PAUSED' AND e.sequence > (
                SELECT max(asked.sequence) FROM run_event AS asked
                WHERE asked.run_id = a.run_id AND asked.event_type = 'APPROVAL_REQUESTED'
                    AND asked.payload->>'approvalRequestId' = a.id
            )
            ORDER BY e.sequence LIMIT 1
        ),
        r.updated_at
    )
    FROM workflow_run AS r
    WHERE r.id = a.run_id AND a.decision IS NULL AND NOT EXISTS (
        SELECT 1 FROM step_run AS s
        WHERE s.id = a.step_run_id AND s.attempt = a.attempt
            AND r.status = 'PAUSED' AND r.current_step_run_id = s.id
    )
    """,
]


def up(migrator, db):
    for statement in STATEMENTS:
        db.execute_sql(statement)


def down(migrator, db):
    db.execute_sql("ALTER TABLE approval_request DROP COLUMN closed_at")
