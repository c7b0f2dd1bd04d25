"""Rerun from a step (SPEC section 8): what a run started from, and what each step run merged.

- `workflow_run.rerun_of`: the run a rerun was made from. No foreign key: deleting an original
  (retention) must not write to its reruns, whose `rerunOf` then names a run that is 404.
- `workflow_run.initial_state`: the state a run started with; NULL for `{}`, as every run but
  a rerun starts.
- `step_run.state_updates`: what the step run merged into its run's state, over all its
  attempts; NULL when that is its `output` (a task's result), so the common case costs nothing.
- `workflow_run.legacy_history`: true for the runs created before this migration, whose step
  runs never said what they merged; NULL for every run after. Added with a default and the
  default dropped at once: PostgreSQL keeps the value for the rows that existed in its
  catalogue, so no row is rewritten.
"""

STATEMENTS = [
    "ALTER TABLE workflow_run ADD COLUMN rerun_of varchar(40)",
    "ALTER TABLE workflow_run ADD COLUMN initial_state jsonb",
    "ALTER TABLE workflow_run ADD COLUMN legacy_history boolean DEFAULT true",
    "ALTER TABLE workflow_run ALTER COLUMN legacy_history DROP DEFAULT",
    "ALTER TABLE step_run ADD COLUMN state_updates jsonb",
]


def up(migrator, db):
    for statement in STATEMENTS:
        db.execute_sql(statement)


def down(migrator, db):
    db.execute_sql("ALTER TABLE step_run DROP COLUMN state_updates")
    for column in ("legacy_history", "initial_state", "rerun_of"):
        db.execute_sql(f"ALTER TABLE workflow_run DROP COLUMN {column}")
