"""Netting runs: the offsets booked per member and the payouts proposed to providers."""

from marketplace.migrations import ddl_migration

ID = "2026-11-26T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "netting runs, netting offsets, netting payouts"

forwards = ddl_migration(
    migration_id=ID,
    app_name="reconciliation",
    description=DESCRIPTION,
    statements=[
        """
        CREATE TABLE netting_runs (
            id UUID PRIMARY KEY,
            as_of DATE NOT NULL,
            errors TEXT NOT NULL DEFAULT '[]',
            created_by VARCHAR(254) NOT NULL CHECK (length(created_by) > 0),
            created_at TIMESTAMPTZ NOT NULL
        )
        """,
        "CREATE INDEX netting_runs_created ON netting_runs (created_at)",
        """
        CREATE TABLE netting_offsets (
            id UUID PRIMARY KEY,
            run UUID NOT NULL REFERENCES netting_runs (id) ON DELETE RESTRICT,
            member UUID NOT NULL REFERENCES members (id) ON DELETE RESTRICT,
            receivable_cents BIGINT NOT NULL CHECK (receivable_cents > 0),
            payable_cents BIGINT NOT NULL CHECK (payable_cents > 0),
            amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
            settlements TEXT NOT NULL,
            ledger_entry UUID NOT NULL REFERENCES ledger_entries (id) ON DELETE RESTRICT
        )
        """,
        "CREATE UNIQUE INDEX netting_offsets_once ON netting_offsets (run, member)",
        """
        CREATE TABLE netting_payouts (
            id UUID PRIMARY KEY,
            run UUID NOT NULL REFERENCES netting_runs (id) ON DELETE RESTRICT,
            member UUID NOT NULL REFERENCES members (id) ON DELETE RESTRICT,
            amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
            settlements TEXT NOT NULL CHECK (length(settlements) > 0),
            end_to_end_id VARCHAR(35) NOT NULL CHECK (length(end_to_end_id) > 0),
            remittance VARCHAR(140) NOT NULL,
            status VARCHAR(16) NOT NULL CHECK (status IN ('proposed', 'exported', 'paid')),
            created_at TIMESTAMPTZ NOT NULL
        )
        """,
        "CREATE UNIQUE INDEX netting_payouts_once ON netting_payouts (run, member)",
    ],
)
