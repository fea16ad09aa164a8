"""The append-only audit trail."""

from marketplace.migrations import ddl_migration

ID = "2026-11-26T13:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit events, append-only"

forwards = ddl_migration(
    migration_id=ID,
    app_name="audit",
    description=DESCRIPTION,
    statements=[
        """
        CREATE TABLE audit_events (
            id UUID PRIMARY KEY,
            occurred_at TIMESTAMPTZ NOT NULL,
            actor_user UUID REFERENCES users (id) ON DELETE RESTRICT,
            actor_label VARCHAR(254) NOT NULL,
            member UUID REFERENCES members (id) ON DELETE RESTRICT,
            subject_type VARCHAR(64) NOT NULL,
            subject_id VARCHAR(64) NOT NULL,
            action VARCHAR(64) NOT NULL CHECK (length(action) > 0),
            before JSON,
            after JSON,
            reason TEXT,
            request_id VARCHAR(64)
        )
        """,
        "CREATE INDEX audit_events_subject ON audit_events (subject_id, occurred_at)",
        "CREATE INDEX audit_events_member ON audit_events (member, occurred_at)",
        "CREATE INDEX audit_events_order ON audit_events (occurred_at, id)",
    ],
    postgres=[
        """
        CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'integrity_constraint_violation';
        END
        $$
        """,
        """
        CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
        """,
    ],
    sqlite=[
        """
        CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END
        """,
        """
        CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END
        """,
    ],
)
