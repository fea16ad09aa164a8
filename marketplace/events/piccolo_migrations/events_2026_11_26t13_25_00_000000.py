"""The event outbox."""

from marketplace.migrations import ddl_migration

ID = "2026-11-26T13:25:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "event outbox"

forwards = ddl_migration(
    migration_id=ID,
    app_name="events",
    description=DESCRIPTION,
    statements=[
        """
        CREATE TABLE outbox_events (
            id UUID PRIMARY KEY,
            member UUID NOT NULL REFERENCES members (id) ON DELETE RESTRICT,
            type VARCHAR(64) NOT NULL CHECK (length(type) > 0),
            subject_id VARCHAR(64) NOT NULL,
            payload JSON NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            published_at TIMESTAMPTZ
        )
        """,
        "CREATE INDEX outbox_events_unpublished ON outbox_events (created_at, id) WHERE published_at IS NULL",
        "CREATE INDEX outbox_events_member ON outbox_events (member, created_at, id)",
    ],
)
