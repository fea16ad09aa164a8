"""Balance assertions recorded from outside the period close, e.g. a bank statement's closing balance.

Append-only like the journal: an assertion was checked against the journal when it was recorded, and the export
proves it again with Beancount. At most one per account, currency and day.
"""

from ledger.migrations import ddl_migration

ID = "2026-11-26T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger recorded balance assertions"

forwards = ddl_migration(
    migration_id=ID,
    app_name="ledger",
    description=DESCRIPTION,
    statements=[
        """
        CREATE TABLE ledger_recorded_assertions (
            id UUID PRIMARY KEY,
            date DATE NOT NULL,
            account VARCHAR(200) NOT NULL REFERENCES ledger_accounts (name) ON DELETE RESTRICT,
            amount_cents BIGINT NOT NULL,
            currency VARCHAR(3) NOT NULL CHECK (length(currency) = 3),
            source VARCHAR(200) NOT NULL CHECK (length(source) > 0),
            actor VARCHAR(254) NOT NULL CHECK (length(actor) > 0),
            created_at TIMESTAMPTZ NOT NULL
        )
        """,
        "CREATE UNIQUE INDEX ledger_recorded_assertions_key ON ledger_recorded_assertions (account, currency, date)",
        "CREATE INDEX ledger_recorded_assertions_date ON ledger_recorded_assertions (date)",
    ],
    postgres=[
        "CREATE TRIGGER ledger_recorded_assertions_append_only BEFORE UPDATE OR DELETE ON ledger_recorded_assertions "
        "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()",
    ],
    sqlite=[
        *(
            f"CREATE TRIGGER ledger_recorded_assertions_no_{verb} BEFORE {verb.upper()} ON ledger_recorded_assertions "
            "BEGIN SELECT RAISE(ABORT, 'ledger_recorded_assertions is append-only'); END"
            for verb in ("update", "delete")
        ),
    ],
)
