"""Cheaper transitions: room for HOT updates of runs and step runs, and one index for events.

A run row is rewritten at every step; with free space on its page and no indexed column
changed, PostgreSQL updates it in place without touching its six indexes. Events are read by
run in write order, which one (run_id, id) index serves; nothing looks them up by step run.
"""


def up(migrator, db):
    db.execute_sql("ALTER TABLE workflow_run SET (fillfactor = 70)")
    db.execute_sql("ALTER TABLE step_run SET (fillfactor = 80)")
    db.execute_sql("DROP INDEX run_event_step_run_id")
    db.execute_sql("DROP INDEX run_event_run_id")
    db.execute_sql("CREATE INDEX run_event_run_id_id ON run_event (run_id, id)")


def down(migrator, db):
    db.execute_sql("DROP INDEX run_event_run_id_id")
    db.execute_sql("CREATE INDEX run_event_run_id ON run_event (run_id)")
    db.execute_sql("CREATE INDEX run_event_step_run_id ON run_event (step_run_id)")
    db.execute_sql("ALTER TABLE step_run RESET (fillfactor)")
    db.execute_sql("ALTER TABLE workflow_run RESET (fillfactor)")
