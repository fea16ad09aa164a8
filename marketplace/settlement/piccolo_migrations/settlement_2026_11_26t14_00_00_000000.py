"""Settlement runs, gapless settlement numbers, settlements and their lines, charged at most once."""

from marketplace.migrations import ddl_migration

ID = "2026-11-26T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "settlement runs, numbers, settlements, lines"

forwards = ddl_migration(
    migration_id=ID,
    app_name="settlement",
    description=DESCRIPTION,
    statements=[
        """
        CREATE TABLE settlement_runs (
            id UUID PRIMARY KEY,
            period VARCHAR(7) NOT NULL CHECK (period LIKE '____-__'),
            status VARCHAR(16) NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
            started_by VARCHAR(254) NOT NULL CHECK (length(started_by) > 0),
            requested_by_member UUID REFERENCES members (id) ON DELETE RESTRICT,
            idempotency_key VARCHAR(255),
            fee_percent VARCHAR(12) NOT NULL DEFAULT '0',
            agreements_total INTEGER NOT NULL DEFAULT 0 CHECK (agreements_total >= 0),
            agreements_processed INTEGER NOT NULL DEFAULT 0 CHECK (agreements_processed >= 0),
            agreements_charged INTEGER NOT NULL DEFAULT 0 CHECK (agreements_charged >= 0),
            agreements_already_charged INTEGER NOT NULL DEFAULT 0 CHECK (agreements_already_charged >= 0),
            agreements_not_due INTEGER NOT NULL DEFAULT 0 CHECK (agreements_not_due >= 0),
            settlements_created INTEGER NOT NULL DEFAULT 0 CHECK (settlements_created >= 0),
            net_cents BIGINT NOT NULL DEFAULT 0,
            tax_cents BIGINT NOT NULL DEFAULT 0,
            gross_cents BIGINT NOT NULL DEFAULT 0,
            fee_cents BIGINT NOT NULL DEFAULT 0,
            missing_usage TEXT NOT NULL DEFAULT '[]',
            errors TEXT NOT NULL DEFAULT '[]',
            created_at TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ,
            version INTEGER NOT NULL DEFAULT 1 CHECK (version > 0)
        )
        """,
        "CREATE INDEX settlement_runs_period ON settlement_runs (period, created_at)",
        "CREATE UNIQUE INDEX settlement_runs_idempotency ON settlement_runs (requested_by_member, idempotency_key)",
        """
        CREATE TABLE settlement_numbers (
            year INTEGER PRIMARY KEY CHECK (year BETWEEN 2000 AND 9999),
            last_number INTEGER NOT NULL CHECK (last_number BETWEEN 1 AND 999999)
        )
        """,
        """
        CREATE TABLE settlements (
            id UUID PRIMARY KEY,
            number VARCHAR(20) NOT NULL UNIQUE CHECK (number LIKE 'S-____-______'),
            run UUID REFERENCES settlement_runs (id) ON DELETE RESTRICT,
            period VARCHAR(7) NOT NULL CHECK (period LIKE '____-__'),
            provider UUID NOT NULL REFERENCES members (id) ON DELETE RESTRICT,
            consumer UUID NOT NULL REFERENCES members (id) ON DELETE RESTRICT,
            net_cents BIGINT NOT NULL CHECK (net_cents >= 0),
            tax_cents BIGINT NOT NULL CHECK (tax_cents >= 0),
            gross_cents BIGINT NOT NULL CHECK (gross_cents = net_cents + tax_cents),
            fee_cents BIGINT NOT NULL DEFAULT 0 CHECK (fee_cents >= 0 AND fee_cents <= gross_cents),
            status VARCHAR(16) NOT NULL CHECK (status IN ('booked', 'reversed')),
            ledger_entry UUID UNIQUE REFERENCES ledger_entries (id) ON DELETE RESTRICT,
            reversal_entry UUID UNIQUE REFERENCES ledger_entries (id) ON DELETE RESTRICT,
            reversal_reason TEXT,
            reversed_at TIMESTAMPTZ,
            created_at TIMESTAMPTZ NOT NULL,
            version INTEGER NOT NULL DEFAULT 1 CHECK (version > 0),
            CHECK (consumer <> provider),
            CHECK (status <> 'reversed' OR (reversal_reason IS NOT NULL AND reversed_at IS NOT NULL))
        )
        """,
        "CREATE INDEX settlements_period ON settlements (period, number)",
        "CREATE INDEX settlements_consumer ON settlements (consumer, number)",
        "CREATE INDEX settlements_provider ON settlements (provider, number)",
        """
        CREATE TABLE settlement_lines (
            id UUID PRIMARY KEY,
            settlement UUID NOT NULL REFERENCES settlements (id) ON DELETE RESTRICT,
            line INTEGER NOT NULL CHECK (line > 0),
            agreement UUID NOT NULL REFERENCES agreements (id) ON DELETE RESTRICT,
            period VARCHAR(7) NOT NULL CHECK (period LIKE '____-__'),
            description TEXT NOT NULL,
            pricing VARCHAR(16) NOT NULL CHECK (pricing IN ('recurring', 'one_off', 'metered')),
            quantity_milli BIGINT NOT NULL CHECK (quantity_milli >= 0),
            unit VARCHAR(60) NOT NULL,
            unit_price_cents BIGINT NOT NULL CHECK (unit_price_cents >= 0),
            active_days INTEGER,
            days_in_month INTEGER,
            net_cents BIGINT NOT NULL CHECK (net_cents >= 0),
            tax_treatment VARCHAR(32) NOT NULL,
            tax_rate VARCHAR(8) NOT NULL,
            tax_cents BIGINT NOT NULL CHECK (tax_cents >= 0),
            gross_cents BIGINT NOT NULL CHECK (gross_cents = net_cents + tax_cents),
            reversed BOOLEAN NOT NULL DEFAULT FALSE
        )
        """,
        "CREATE UNIQUE INDEX settlement_lines_line ON settlement_lines (settlement, line)",
        # The rule "each (agreement, period) is charged at most once" lives here: a reversed line stops counting.
        "CREATE UNIQUE INDEX settlement_lines_charged_once ON settlement_lines (agreement, period) WHERE NOT reversed",
        "CREATE INDEX settlement_lines_period ON settlement_lines (period)",
    ],
)
