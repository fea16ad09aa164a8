"""An IBAN belongs to one member, and a member's own change of IBAN waits for the cooperative's confirmation.

Bank lines are matched to members by the payer's IBAN, and payouts go to it: a member that could enter another
member's IBAN would receive the matching of that member's payments. So

- ``pending_iban`` (with who proposed it and when) holds a change a member's admin made; ``iban`` stays the one
  matching and payouts use until the cooperative confirms the change;
- no IBAN, confirmed or pending, is held by two members: a unique index per column on the normalised value
  (upper case, no spaces; NULLs allowed) and, across the two columns, a trigger. On PostgreSQL the trigger takes
  a transaction lock per IBAN first, so that of two concurrent writers of the same IBAN the second sees the
  first's committed row; SQLite writers are serialised anyway.

The unique indexes are created over the existing rows: if two members already share an IBAN, the migration
stops until the cooperative has decided whose account it is (operations.md).
"""

from marketplace.migrations import ddl_migration

ID = "2026-12-03T20:19:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "pending IBAN, one member per IBAN"


def _normal(column: str) -> str:
    return f"upper(replace({column}, ' ', ''))"


def _held_by_another(new: str) -> str:
    """A condition: another member holds ``new`` (an expression) as its IBAN or its pending IBAN."""
    return f"{_normal('iban')} = {new} OR {_normal('pending_iban')} = {new}"


SQLITE_HELD = f"""
    SELECT 1 FROM members
    WHERE id <> NEW.id AND (
        ({_held_by_another(_normal("NEW.iban"))}) OR ({_held_by_another(_normal("NEW.pending_iban"))})
    )
"""

forwards = ddl_migration(
    migration_id=ID,
    app_name="members",
    description=DESCRIPTION,
    statements=[
        "ALTER TABLE members ADD COLUMN pending_iban VARCHAR(34)",
        "ALTER TABLE members ADD COLUMN pending_iban_by VARCHAR(254)",
        "ALTER TABLE members ADD COLUMN pending_iban_at TIMESTAMPTZ"
        " CHECK ((pending_iban IS NULL) = (pending_iban_at IS NULL))",
        f"CREATE UNIQUE INDEX members_iban_unique ON members ({_normal('iban')})",
        f"CREATE UNIQUE INDEX members_pending_iban_unique ON members ({_normal('pending_iban')})",
    ],
    postgres=[
        f"""
        CREATE FUNCTION members_iban_held_once() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            wanted TEXT;
        BEGIN
            -- One writer per IBAN at a time, in a fixed order so that two writers cannot deadlock.
            FOR wanted IN
                SELECT DISTINCT value FROM unnest(ARRAY[{_normal("NEW.iban")}, {_normal("NEW.pending_iban")}]) AS value
                WHERE value IS NOT NULL ORDER BY value
            LOOP
                PERFORM pg_advisory_xact_lock(hashtext('members.iban'), hashtext(wanted));
                IF EXISTS (SELECT 1 FROM members WHERE id <> NEW.id AND ({_held_by_another("wanted")})) THEN
                    RAISE EXCEPTION 'an IBAN is held by another member'
                        USING ERRCODE = 'unique_violation', CONSTRAINT = 'members_iban_held_once';
                END IF;
            END LOOP;
            RETURN NEW;
        END
        $$
        """,
        """
        CREATE TRIGGER members_iban_held_once BEFORE INSERT OR UPDATE OF iban, pending_iban ON members
        FOR EACH ROW EXECUTE FUNCTION members_iban_held_once()
        """,
    ],
    sqlite=[
        f"""
        CREATE TRIGGER members_iban_held_once_insert BEFORE INSERT ON members
        WHEN EXISTS ({SQLITE_HELD})
        BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: members_iban_held_once'); END
        """,
        f"""
        CREATE TRIGGER members_iban_held_once_update BEFORE UPDATE OF iban, pending_iban ON members
        WHEN EXISTS ({SQLITE_HELD})
        BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: members_iban_held_once'); END
        """,
    ],
)
