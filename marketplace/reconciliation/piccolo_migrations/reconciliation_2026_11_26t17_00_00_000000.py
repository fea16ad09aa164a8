"""The days a bank statement covers: its opening balance holds at the start of the first, its closing balance at
the end of the last. The reconciliation compares the ledger's bank account with the closing balance on that day."""

from marketplace.migrations import ddl_migration

ID = "2026-11-26T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "bank statements: opening and closing dates"

forwards = ddl_migration(
    migration_id=ID,
    app_name="reconciliation",
    description=DESCRIPTION,
    statements=[
        # One column per statement: SQLite adds only one column per ALTER TABLE.
        "ALTER TABLE bank_statements ADD COLUMN opening_date DATE",
        "ALTER TABLE bank_statements ADD COLUMN closing_date DATE",
        "CREATE INDEX bank_statements_closing ON bank_statements (account_iban, closing_date)",
    ],
)
