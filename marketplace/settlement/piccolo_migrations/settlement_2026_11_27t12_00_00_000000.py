"""Settlement runs get a heartbeat: a run whose process died is found by its stale heartbeat and resumed.

A resumed attempt counts what earlier attempts of the same run booked as "already charged"; the ``resumed_*``
columns keep those earlier settlements, written before the attempt starts, so that the run reports them as its own.
"""

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
        "ALTER TABLE settlement_runs ADD COLUMN resumed_settlements INTEGER NOT NULL DEFAULT 0"
        " CHECK (resumed_settlements >= 0)",
        "ALTER TABLE settlement_runs ADD COLUMN resumed_lines INTEGER NOT NULL DEFAULT 0 CHECK (resumed_lines >= 0)",
        "ALTER TABLE settlement_runs ADD COLUMN resumed_net_cents BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE settlement_runs ADD COLUMN resumed_tax_cents BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE settlement_runs ADD COLUMN resumed_gross_cents BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE settlement_runs ADD COLUMN resumed_fee_cents BIGINT NOT NULL DEFAULT 0",
        # What the resumers look for: unfinished runs by heartbeat.
        "CREATE INDEX settlement_runs_unfinished ON settlement_runs (status, heartbeat_at)",
    ],
)
