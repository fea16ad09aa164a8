"""Requests, agreements with gapless references and a capacity invariant, usage reports."""

from marketplace.migrations import ddl_migration

ID = "2026-11-26T13:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "requests, agreements, agreement numbers, usage reports"

CAPACITY_USED = (
    "SELECT COALESCE(SUM(quantity), 0) FROM agreements "
    "WHERE offer = NEW.offer AND status IN ('active', 'terminated') AND id <> NEW.id"
)
CURRENT_CAPACITY = "SELECT capacity FROM offer_versions WHERE offer = NEW.offer ORDER BY number DESC LIMIT 1"

forwards = ddl_migration(
    migration_id=ID,
    app_name="booking",
    description=DESCRIPTION,
    statements=[
        """
        CREATE TABLE requests (
            id UUID PRIMARY KEY,
            offer UUID NOT NULL REFERENCES offers (id) ON DELETE RESTRICT,
            offer_version UUID NOT NULL REFERENCES offer_versions (id) ON DELETE RESTRICT,
            consumer UUID NOT NULL REFERENCES members (id) ON DELETE RESTRICT,
            provider UUID NOT NULL REFERENCES members (id) ON DELETE RESTRICT,
            quantity INTEGER NOT NULL CHECK (quantity > 0),
            start_date DATE NOT NULL,
            end_date DATE CHECK (end_date IS NULL OR end_date > start_date),
            message TEXT,
            status VARCHAR(16) NOT NULL
                CHECK (status IN ('submitted', 'accepted', 'declined', 'withdrawn', 'expired')),
            decline_reason TEXT CHECK (status <> 'declined' OR decline_reason IS NOT NULL),
            requested_by UUID REFERENCES users (id) ON DELETE RESTRICT,
            created_at TIMESTAMPTZ NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL,
            decided_at TIMESTAMPTZ,
            version INTEGER NOT NULL DEFAULT 1 CHECK (version > 0),
            CHECK (consumer <> provider)
        )
        """,
        "CREATE INDEX requests_consumer ON requests (consumer, created_at, id)",
        "CREATE INDEX requests_provider ON requests (provider, created_at, id)",
        "CREATE INDEX requests_due ON requests (expires_at) WHERE status = 'submitted'",
        """
        CREATE TABLE agreements (
            id UUID PRIMARY KEY,
            reference VARCHAR(20) NOT NULL UNIQUE CHECK (reference LIKE 'AGR-____-______'),
            request UUID UNIQUE REFERENCES requests (id) ON DELETE RESTRICT,
            offer UUID NOT NULL REFERENCES offers (id) ON DELETE RESTRICT,
            offer_version UUID NOT NULL REFERENCES offer_versions (id) ON DELETE RESTRICT,
            provider UUID NOT NULL REFERENCES members (id) ON DELETE RESTRICT,
            consumer UUID NOT NULL REFERENCES members (id) ON DELETE RESTRICT,
            quantity INTEGER NOT NULL CHECK (quantity > 0),
            start_date DATE NOT NULL,
            end_date DATE CHECK (end_date IS NULL OR end_date >= start_date),
            status VARCHAR(16) NOT NULL CHECK (status IN ('active', 'terminated', 'expired')),
            imported BOOLEAN NOT NULL DEFAULT FALSE,
            created_at TIMESTAMPTZ NOT NULL,
            terminated_at TIMESTAMPTZ,
            version INTEGER NOT NULL DEFAULT 1 CHECK (version > 0),
            CHECK (consumer <> provider),
            CHECK (imported OR request IS NOT NULL)
        )
        """,
        "CREATE INDEX agreements_consumer ON agreements (consumer, created_at, id)",
        "CREATE INDEX agreements_provider ON agreements (provider, created_at, id)",
        "CREATE INDEX agreements_offer_status ON agreements (offer, status)",
        """
        CREATE TABLE agreement_numbers (
            year INTEGER PRIMARY KEY CHECK (year BETWEEN 2000 AND 9999),
            last_number INTEGER NOT NULL CHECK (last_number BETWEEN 1 AND 999999)
        )
        """,
        """
        CREATE TABLE usage_reports (
            id UUID PRIMARY KEY,
            agreement UUID NOT NULL REFERENCES agreements (id) ON DELETE RESTRICT,
            period VARCHAR(7) NOT NULL CHECK (period LIKE '____-__'),
            quantity_milli BIGINT NOT NULL CHECK (quantity_milli >= 0),
            reported_by UUID REFERENCES users (id) ON DELETE RESTRICT,
            reported_at TIMESTAMPTZ NOT NULL,
            version INTEGER NOT NULL DEFAULT 1 CHECK (version > 0)
        )
        """,
        "CREATE UNIQUE INDEX usage_reports_agreement_period ON usage_reports (agreement, period)",
    ],
    postgres=[
        # The capacity invariant in the database: the offer row is locked, so concurrent inserts are serialised.
        f"""
        CREATE FUNCTION agreements_within_capacity() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            cap INTEGER;
            used BIGINT;
        BEGIN
            IF NEW.status NOT IN ('active', 'terminated') THEN
                RETURN NEW;
            END IF;
            PERFORM 1 FROM offers WHERE id = NEW.offer FOR UPDATE;
            {CURRENT_CAPACITY.replace("SELECT capacity", "SELECT capacity INTO cap")};
            IF cap IS NULL THEN
                RETURN NEW;
            END IF;
            {CAPACITY_USED.replace("SELECT COALESCE(SUM(quantity), 0)", "SELECT COALESCE(SUM(quantity), 0) INTO used")};
            IF used + NEW.quantity > cap THEN
                RAISE EXCEPTION 'capacity of offer % exceeded: % of % units booked', NEW.offer, used, cap
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END
        $$
        """,
        """
        CREATE TRIGGER agreements_within_capacity BEFORE INSERT OR UPDATE OF quantity, status ON agreements
        FOR EACH ROW EXECUTE FUNCTION agreements_within_capacity()
        """,
    ],
    sqlite=[
        f"""
        CREATE TRIGGER agreements_within_capacity_insert BEFORE INSERT ON agreements
        WHEN NEW.status IN ('active', 'terminated')
            AND ({CURRENT_CAPACITY}) IS NOT NULL
            AND ({CAPACITY_USED}) + NEW.quantity > ({CURRENT_CAPACITY})
        BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: capacity of the offer exceeded'); END
        """,
        f"""
        CREATE TRIGGER agreements_within_capacity_update BEFORE UPDATE OF quantity, status ON agreements
        WHEN NEW.status IN ('active', 'terminated')
            AND ({CURRENT_CAPACITY}) IS NOT NULL
            AND ({CAPACITY_USED}) + NEW.quantity > ({CURRENT_CAPACITY})
        BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: capacity of the offer exceeded'); END
        """,
    ],
)
