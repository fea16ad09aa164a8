"""Bank statements and their lines (each imported once), allocations to settlements, settlement payment states."""

from marketplace.migrations import ddl_migration

ID = "2026-11-26T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "bank statements, bank lines, allocations, settlement payments"

forwards = ddl_migration(
    migration_id=ID,
    app_name="reconciliation",
    description=DESCRIPTION,
    statements=[
        """
        CREATE TABLE bank_statements (
            id UUID PRIMARY KEY,
            account_iban VARCHAR(34) NOT NULL CHECK (length(account_iban) >= 15),
            reference VARCHAR(140) NOT NULL CHECK (length(reference) > 0),
            format VARCHAR(16) NOT NULL CHECK (format IN ('camt.053', 'csv')),
            statement_date DATE,
            opening_cents BIGINT,
            closing_cents BIGINT,
            entries_cents BIGINT NOT NULL DEFAULT 0,
            entries_count INTEGER NOT NULL DEFAULT 0 CHECK (entries_count >= 0),
            imported_by VARCHAR(254) NOT NULL CHECK (length(imported_by) > 0),
            imported_at TIMESTAMPTZ NOT NULL
        )
        """,
        "CREATE UNIQUE INDEX bank_statements_once ON bank_statements (account_iban, reference)",
        """
        CREATE TABLE bank_lines (
            id UUID PRIMARY KEY,
            statement UUID NOT NULL REFERENCES bank_statements (id) ON DELETE RESTRICT,
            account_iban VARCHAR(34) NOT NULL,
            bank_reference VARCHAR(140) NOT NULL CHECK (length(bank_reference) > 0),
            booking_date DATE NOT NULL,
            value_date DATE,
            amount_cents BIGINT NOT NULL CHECK (amount_cents <> 0),
            counterparty_iban VARCHAR(34),
            counterparty_name VARCHAR(140),
            remittance TEXT NOT NULL DEFAULT '',
            end_to_end_id VARCHAR(140),
            unallocated_cents BIGINT NOT NULL,
            status VARCHAR(20) NOT NULL CHECK (status IN ('matched', 'partially_matched', 'unmatched')),
            ledger_entry UUID REFERENCES ledger_entries (id) ON DELETE RESTRICT,
            created_at TIMESTAMPTZ NOT NULL
        )
        """,
        # "Each statement line is stored once": the bank's reference for the entry, per account.
        "CREATE UNIQUE INDEX bank_lines_once ON bank_lines (account_iban, bank_reference)",
        "CREATE INDEX bank_lines_statement ON bank_lines (statement, booking_date)",
        "CREATE INDEX bank_lines_unallocated ON bank_lines (status)",
        """
        CREATE TABLE bank_allocations (
            id UUID PRIMARY KEY,
            line UUID NOT NULL REFERENCES bank_lines (id) ON DELETE RESTRICT,
            settlement UUID NOT NULL REFERENCES settlements (id) ON DELETE RESTRICT,
            side VARCHAR(8) NOT NULL CHECK (side IN ('consumer', 'provider')),
            method VARCHAR(16) NOT NULL CHECK (method IN ('reference', 'amount_and_iban', 'manual')),
            amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
            ledger_entry UUID NOT NULL REFERENCES ledger_entries (id) ON DELETE RESTRICT,
            created_by VARCHAR(254) NOT NULL,
            created_at TIMESTAMPTZ NOT NULL
        )
        """,
        "CREATE INDEX bank_allocations_line ON bank_allocations (line)",
        "CREATE INDEX bank_allocations_settlement ON bank_allocations (settlement, side)",
        """
        CREATE TABLE settlement_payments (
            settlement UUID PRIMARY KEY REFERENCES settlements (id) ON DELETE RESTRICT,
            paid_cents BIGINT NOT NULL DEFAULT 0 CHECK (paid_cents >= 0),
            payment_status VARCHAR(16) NOT NULL CHECK (payment_status IN ('open', 'partially_paid', 'paid')),
            paid_out_cents BIGINT NOT NULL DEFAULT 0 CHECK (paid_out_cents >= 0),
            payout_status VARCHAR(16) NOT NULL CHECK (payout_status IN ('open', 'partially_paid', 'paid')),
            updated_at TIMESTAMPTZ NOT NULL
        )
        """,
    ],
)
