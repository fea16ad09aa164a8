"""Passwords for the web pages: a password hash and a lock-out on users, one-time links that set a password."""

from marketplace.migrations import ddl_migration

ID = "2026-11-27T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "passwords, sign-in lock-out and password links"

forwards = ddl_migration(
    migration_id=ID,
    app_name="members",
    description=DESCRIPTION,
    statements=[
        # Null: the user has no password yet (API tokens only) until a password link is used.
        "ALTER TABLE users ADD COLUMN password_hash VARCHAR(255)",
        "ALTER TABLE users ADD COLUMN password_changed_at TIMESTAMPTZ",
        "ALTER TABLE users ADD COLUMN failed_sign_ins INTEGER NOT NULL DEFAULT 0 CHECK (failed_sign_ins >= 0)",
        "ALTER TABLE users ADD COLUMN locked_until TIMESTAMPTZ",
        """
        CREATE TABLE password_links (
            id UUID PRIMARY KEY,
            owner UUID NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
            token_hash VARCHAR(64) NOT NULL UNIQUE CHECK (length(token_hash) = 64),
            created_by VARCHAR(254) NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL,
            used_at TIMESTAMPTZ,
            revoked_at TIMESTAMPTZ,
            CHECK (expires_at > created_at)
        )
        """,
        'CREATE INDEX password_links_user ON password_links (owner)',
    ],
)
