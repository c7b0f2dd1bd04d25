"""Manual pause (SPEC section 8): why a PAUSED run is held, and what a manual pause keeps.

`paused_reason` is `approval` (a step asked) or `manual` (a user paused the run), NULL when the
run is not PAUSED; runs PAUSED before this migration were all waiting on an approval.
`paused_from` is the status a manual pause took the run from, which unpause gives back, and
`paused_due_at` the timer it keeps aside: a manually paused run holds none (`next_run_at` NULL),
so the clock never looks at it.
"""

STATEMENTS = [
    "ALTER TABLE workflow_run ADD COLUMN paused_reason varchar(20)",
    "ALTER TABLE workflow_run ADD COLUMN paused_from varchar(20)",
    "ALTER TABLE workflow_run ADD COLUMN paused_due_at timestamp",
    "UPDATE workflow_run SET paused_reason = 'approval' WHERE status = 'PAUSED'",
]


def up(migrator, db):
    for statement in STATEMENTS:
        db.execute_sql(statement)


def down(migrator, db):
    for column in ("paused_due_at", "paused_from", "paused_reason"):
        db.execute_sql(f"ALTER TABLE workflow_run DROP COLUMN {column}")
