"""Idempotency keys, unique per member."""

from marketplace.migrations import ddl_migration

ID = "2026-11-26T13:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "idempotency keys"

forwards = ddl_migration(
    migration_id=ID,
    app_name="idempotency",
    description=DESCRIPTION,
    statements=[
        """
        CREATE TABLE idempotency_keys (
            id UUID PRIMARY KEY,
            member UUID NOT NULL REFERENCES members (id) ON DELETE RESTRICT,
            key VARCHAR(255) NOT NULL CHECK (length(key) > 0),
            fingerprint VARCHAR(64) NOT NULL,
            status_code INTEGER NOT NULL CHECK (status_code BETWEEN 100 AND 599),
            response_body TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL
        )
        """,
        # The database decides between concurrent duplicates: the second insert of a key waits, then fails.
        "CREATE UNIQUE INDEX idempotency_keys_member_key ON idempotency_keys (member, key)",
        "CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at)",
    ],
)
