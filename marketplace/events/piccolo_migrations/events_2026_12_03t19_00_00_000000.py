"""Change counters: what caches compare against and what ends event streams."""

from marketplace.migrations import ddl_migration

ID = "2026-12-03T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "change counters"

forwards = ddl_migration(
    migration_id=ID,
    app_name="events",
    description=DESCRIPTION,
    statements=[
        """
        CREATE TABLE change_counters (
            name VARCHAR(32) PRIMARY KEY CHECK (name IN ('access', 'catalogue')),
            value BIGINT NOT NULL DEFAULT 0 CHECK (value >= 0)
        )
        """,
        "INSERT INTO change_counters (name, value) VALUES ('access', 0), ('catalogue', 0)",
    ],
)
