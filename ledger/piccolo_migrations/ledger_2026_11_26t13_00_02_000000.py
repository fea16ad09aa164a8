"""The ledger: accounts, journal entries and postings, closed periods and their balance assertions.

Postings are inserted before their entry; inserting the entry seals it. The database refuses an entry that does
not balance to zero per currency: on PostgreSQL with a deferred constraint trigger (checked at commit), on SQLite
with a trigger on the entry insert (its postings are already there). Journal rows are append-only on both.
"""

from ledger.migrations import ddl_migration

ID = "2026-11-26T13:00:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger accounts, journal, periods"

APPEND_ONLY = ("ledger_entries", "ledger_postings", "ledger_periods", "ledger_balance_assertions")

forwards = ddl_migration(
    migration_id=ID,
    app_name="ledger",
    description=DESCRIPTION,
    statements=[
        """
        CREATE TABLE ledger_accounts (
            id UUID PRIMARY KEY,
            name VARCHAR(200) NOT NULL UNIQUE,
            currency VARCHAR(3) NOT NULL CHECK (length(currency) = 3),
            opened_on DATE NOT NULL,
            closed_on DATE,
            created_at TIMESTAMPTZ NOT NULL,
            CHECK (closed_on IS NULL OR closed_on >= opened_on)
        )
        """,
        """
        CREATE TABLE ledger_entries (
            id UUID PRIMARY KEY,
            number BIGINT NOT NULL UNIQUE CHECK (number > 0),
            date DATE NOT NULL,
            payee VARCHAR(200),
            narration TEXT NOT NULL,
            tags TEXT NOT NULL,
            links TEXT NOT NULL,
            metadata TEXT NOT NULL,
            idempotency_key VARCHAR(200) NOT NULL UNIQUE CHECK (length(idempotency_key) > 0),
            actor VARCHAR(254) NOT NULL CHECK (length(actor) > 0),
            created_at TIMESTAMPTZ NOT NULL,
            reverses UUID UNIQUE REFERENCES ledger_entries (id) ON DELETE RESTRICT,
            prev_hash VARCHAR(64) NOT NULL UNIQUE CHECK (length(prev_hash) = 64),
            hash VARCHAR(64) NOT NULL UNIQUE CHECK (length(hash) = 64)
        )
        """,
        "CREATE INDEX ledger_entries_date ON ledger_entries (date, number)",
        """
        CREATE TABLE ledger_postings (
            id UUID PRIMARY KEY,
            entry UUID NOT NULL REFERENCES ledger_entries (id) ON DELETE RESTRICT DEFERRABLE INITIALLY DEFERRED,
            line INTEGER NOT NULL CHECK (line >= 0),
            account VARCHAR(200) NOT NULL REFERENCES ledger_accounts (name) ON DELETE RESTRICT,
            amount_cents BIGINT NOT NULL CHECK (amount_cents <> 0),
            currency VARCHAR(3) NOT NULL CHECK (length(currency) = 3)
        )
        """,
        "CREATE UNIQUE INDEX ledger_postings_entry_line ON ledger_postings (entry, line)",
        "CREATE INDEX ledger_postings_account ON ledger_postings (account, entry)",
        """
        CREATE TABLE ledger_periods (
            id UUID PRIMARY KEY,
            period VARCHAR(7) NOT NULL UNIQUE CHECK (length(period) = 7),
            closed_at TIMESTAMPTZ NOT NULL,
            closed_by VARCHAR(254) NOT NULL CHECK (length(closed_by) > 0),
            entry_count BIGINT NOT NULL CHECK (entry_count >= 0),
            file_sha256 VARCHAR(64) NOT NULL CHECK (length(file_sha256) = 64)
        )
        """,
        """
        CREATE TABLE ledger_balance_assertions (
            id UUID PRIMARY KEY,
            period VARCHAR(7) NOT NULL REFERENCES ledger_periods (period) ON DELETE RESTRICT,
            date DATE NOT NULL,
            account VARCHAR(200) NOT NULL REFERENCES ledger_accounts (name) ON DELETE RESTRICT,
            amount_cents BIGINT NOT NULL,
            currency VARCHAR(3) NOT NULL CHECK (length(currency) = 3)
        )
        """,
        "CREATE UNIQUE INDEX ledger_balance_assertions_key ON ledger_balance_assertions (period, account, currency)",
    ],
    postgres=[
        """
        CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
        END
        $$
        """,
        *(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
            for table in APPEND_ONLY
        ),
        """
        CREATE FUNCTION ledger_posting_unsealed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM ledger_entries WHERE id = NEW.entry) THEN
                RAISE EXCEPTION 'ledger entry % is sealed: postings come before their entry', NEW.entry
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END
        $$
        """,
        """
        CREATE TRIGGER ledger_postings_unsealed BEFORE INSERT ON ledger_postings
        FOR EACH ROW EXECUTE FUNCTION ledger_posting_unsealed()
        """,
        """
        CREATE FUNCTION ledger_entry_balances() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            entry_id UUID;
        BEGIN
            IF TG_TABLE_NAME = 'ledger_entries' THEN
                entry_id := NEW.id;
            ELSE
                entry_id := NEW.entry;
            END IF;
            IF (SELECT count(*) FROM ledger_postings WHERE entry = entry_id) < 2 THEN
                RAISE EXCEPTION 'ledger entry % has fewer than two postings', entry_id
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF EXISTS (
                SELECT 1 FROM ledger_postings WHERE entry = entry_id GROUP BY currency HAVING sum(amount_cents) <> 0
            ) THEN
                RAISE EXCEPTION 'ledger entry % does not balance', entry_id
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NULL;
        END
        $$
        """,
        """
        CREATE CONSTRAINT TRIGGER ledger_entries_balance AFTER INSERT ON ledger_entries
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balances()
        """,
        """
        CREATE CONSTRAINT TRIGGER ledger_postings_balance AFTER INSERT ON ledger_postings
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balances()
        """,
    ],
    sqlite=[
        *(
            f"CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            for table in APPEND_ONLY
            for verb in ("update", "delete")
        ),
        """
        CREATE TRIGGER ledger_postings_unsealed BEFORE INSERT ON ledger_postings
        WHEN EXISTS (SELECT 1 FROM ledger_entries WHERE id = NEW.entry)
        BEGIN SELECT RAISE(ABORT, 'ledger entry is sealed: postings come before their entry'); END
        """,
        # No deferred triggers on SQLite: the postings are already in place when the entry row arrives.
        """
        CREATE TRIGGER ledger_entries_balance BEFORE INSERT ON ledger_entries
        WHEN (SELECT count(*) FROM ledger_postings WHERE entry = NEW.id) < 2
            OR EXISTS (
                SELECT 1 FROM ledger_postings WHERE entry = NEW.id GROUP BY currency HAVING sum(amount_cents) <> 0
            )
        BEGIN SELECT RAISE(ABORT, 'ledger entry does not balance'); END
        """,
    ],
)
