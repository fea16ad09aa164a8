"""Signed-out web sessions, kept in the database so that every process refuses a replayed cookie."""

from marketplace.migrations import ddl_migration

ID = "2026-11-27T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ended web sessions"

forwards = ddl_migration(
    migration_id=ID,
    app_name="members",
    description=DESCRIPTION,
    statements=[
        """
        CREATE TABLE ended_web_sessions (
            session_id UUID PRIMARY KEY,
            owner UUID NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
            ended_at TIMESTAMPTZ NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL
        )
        """,
        "CREATE INDEX ended_web_sessions_expires_at ON ended_web_sessions (expires_at)",
    ],
)
