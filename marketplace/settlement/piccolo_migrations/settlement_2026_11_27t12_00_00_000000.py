"""Settlement runs get a heartbeat: a run whose process died is found by its stale heartbeat and resumed."""

from marketplace.migrations import ddl_migration

ID = "2026-11-27T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "settlement run heartbeat"

forwards = ddl_migration(
    migration_id=ID,
    app_name="settlement",
    description=DESCRIPTION,
    statements=[
        # NULL for runs that no heartbeat watches (e.g. ``services.run_period`` called directly): never resumed.
        "ALTER TABLE settlement_runs ADD COLUMN heartbeat_at TIMESTAMPTZ",
        # What the resumers look for: unfinished runs by heartbeat.
        "CREATE INDEX settlement_runs_unfinished ON settlement_runs (status, heartbeat_at)",
    ],
)
