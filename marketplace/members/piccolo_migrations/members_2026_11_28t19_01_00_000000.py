"""Sign-in delays instead of a lock-out: one row per account and per client address, the lock columns go.

The lock-out (``users.failed_sign_ins``, ``users.locked_until``) let anyone who knew an e-mail address lock its
user out. Failed sign-ins now make the next attempt wait, counted per account (the SHA-256 of the e-mail address,
so that an unknown address is counted exactly like a known one) and per client address (an IPv6 client by its
/64). The rows are forgotten a day after the last attempt (the maintenance job).
"""

from marketplace.migrations import ddl_migration

ID = "2026-11-28T19:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sign-in delays per account and client address"

forwards = ddl_migration(
    migration_id=ID,
    app_name="members",
    description=DESCRIPTION,
    statements=[
        """
        CREATE TABLE sign_in_delays (
            subject VARCHAR(80) PRIMARY KEY CHECK (subject LIKE 'account:_%' OR subject LIKE 'address:_%'),
            failures INTEGER NOT NULL CHECK (failures >= 0),
            next_attempt_at TIMESTAMPTZ NOT NULL,
            last_attempt_at TIMESTAMPTZ NOT NULL
        )
        """,
        "CREATE INDEX sign_in_delays_last_attempt_at ON sign_in_delays (last_attempt_at)",
        "ALTER TABLE users DROP COLUMN failed_sign_ins",
        "ALTER TABLE users DROP COLUMN locked_until",
    ],
)
