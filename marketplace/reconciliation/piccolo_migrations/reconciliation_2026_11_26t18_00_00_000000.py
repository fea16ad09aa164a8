"""What a netting offset allocated to each settlement and side, so that a settlement's paid amounts can be traced:
paid = the bank allocations + the netting shares of its side, which the reconciliation report checks."""

from marketplace.migrations import ddl_migration

ID = "2026-11-26T18:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "netting shares per settlement and side"

forwards = ddl_migration(
    migration_id=ID,
    app_name="reconciliation",
    description=DESCRIPTION,
    statements=[
        """
        CREATE TABLE netting_shares (
            id UUID PRIMARY KEY,
            netting_offset UUID NOT NULL REFERENCES netting_offsets (id) ON DELETE RESTRICT,
            settlement UUID NOT NULL REFERENCES settlements (id) ON DELETE RESTRICT,
            side VARCHAR(8) NOT NULL CHECK (side IN ('consumer', 'provider')),
            amount_cents BIGINT NOT NULL CHECK (amount_cents > 0)
        )
        """,
        'CREATE UNIQUE INDEX netting_shares_once ON netting_shares (netting_offset, settlement, side)',
        "CREATE INDEX netting_shares_settlement ON netting_shares (settlement, side)",
    ],
)
