"""Categories, offers and their immutable versions, and the search index of each engine."""

from marketplace.migrations import ddl_migration

ID = "2026-11-26T13:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "catalogue: categories, offers, offer versions, search"

SEEDED_AT = "2026-11-26T13:10:00+00:00"
CATEGORIES = [
    ("hosting", "Rechenzentrums-Hosting", "Data-centre hosting"),
    ("cloud", "Cloud-Dienste", "Cloud services"),
    ("licence_management", "Lizenzmanagement", "Licence management"),
    ("application_operation", "Fachverfahrensbetrieb", "Application operation"),
    ("consulting", "Beratung", "Consulting"),
    ("training", "Schulung", "Training"),
    ("procurement_support", "Beschaffungsunterstützung", "Procurement support"),
    ("security", "Informationssicherheit", "Information security"),
]

CATEGORIES_TABLE = """
CREATE TABLE categories (
    code VARCHAR(40) PRIMARY KEY CHECK (length(code) > 1),
    label_de VARCHAR(100) NOT NULL CHECK (length(label_de) > 0),
    label_en VARCHAR(100) NOT NULL CHECK (length(label_en) > 0),
    created_at TIMESTAMPTZ NOT NULL
)
"""
SEED = [
    f"INSERT INTO categories (code, label_de, label_en, created_at) VALUES ('{code}', '{de}', '{en}', '{SEEDED_AT}')"
    for code, de, en in CATEGORIES
]


def offers_table(current_version_reference: str) -> str:
    return f"""
    CREATE TABLE offers (
        id UUID PRIMARY KEY,
        provider UUID NOT NULL REFERENCES members (id) ON DELETE RESTRICT,
        category VARCHAR(40) NOT NULL REFERENCES categories (code) ON DELETE RESTRICT,
        title VARCHAR(200) NOT NULL CHECK (length(title) > 0),
        description TEXT NOT NULL,
        status VARCHAR(16) NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'paused', 'retired')),
        current_version UUID {current_version_reference},
        version INTEGER NOT NULL DEFAULT 1 CHECK (version > 0),
        search_title TEXT NOT NULL DEFAULT '',
        search_words TEXT NOT NULL DEFAULT '',
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        published_at TIMESTAMPTZ,
        CHECK (status = 'draft' OR (current_version IS NOT NULL AND published_at IS NOT NULL))
    )
    """


VERSIONS_TABLE = """
CREATE TABLE offer_versions (
    id UUID PRIMARY KEY,
    offer UUID NOT NULL REFERENCES offers (id) ON DELETE RESTRICT,
    number INTEGER NOT NULL CHECK (number > 0),
    unit VARCHAR(60) NOT NULL CHECK (length(unit) > 0),
    unit_price_cents BIGINT NOT NULL CHECK (unit_price_cents >= 0),
    pricing VARCHAR(16) NOT NULL CHECK (pricing IN ('recurring', 'one_off', 'metered')),
    capacity INTEGER CHECK (capacity IS NULL OR capacity > 0),
    min_term_months INTEGER NOT NULL DEFAULT 0 CHECK (min_term_months >= 0),
    notice_months INTEGER NOT NULL DEFAULT 0 CHECK (notice_months >= 0),
    tax_treatment VARCHAR(32) NOT NULL
        CHECK (tax_treatment IN ('exempt_public_cooperation', 'vat_19', 'vat_7')),
    sla TEXT,
    created_at TIMESTAMPTZ NOT NULL
)
"""

INDEXES = [
    "CREATE UNIQUE INDEX offer_versions_number ON offer_versions (offer, number)",
    "CREATE INDEX offers_provider ON offers (provider)",
    "CREATE INDEX offers_status_published ON offers (status, published_at, id)",
    "CREATE INDEX offers_category ON offers (category)",
]

forwards = ddl_migration(
    migration_id=ID,
    app_name="catalogue",
    description=DESCRIPTION,
    statements=[],
    postgres=[
        CATEGORIES_TABLE,
        *SEED,
        offers_table(""),
        VERSIONS_TABLE,
        # The tables refer to each other: the second reference is added once both exist.
        """
        ALTER TABLE offers ADD CONSTRAINT offers_current_version_fkey
        FOREIGN KEY (current_version) REFERENCES offer_versions (id) ON DELETE RESTRICT
        """,
        *INDEXES,
        "ALTER TABLE categories ADD CONSTRAINT categories_code_format CHECK (code ~ '^[a-z][a-z0-9_]{1,39}$')",
        # The normalised words (search.py) indexed as they are: the stemming was done in Python.
        """
        ALTER TABLE offers ADD COLUMN search_vector tsvector
        GENERATED ALWAYS AS (to_tsvector('simple', search_words)) STORED
        """,
        "CREATE INDEX offers_search_vector ON offers USING GIN (search_vector)",
        # A version is immutable once its offer has left the draft state (TRUNCATE is not refused).
        """
        CREATE FUNCTION offer_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (SELECT status FROM offers WHERE id = OLD.offer) IS DISTINCT FROM 'draft' THEN
                RAISE EXCEPTION 'offer versions are immutable once the offer is published'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF TG_OP = 'DELETE' THEN
                RETURN OLD;
            END IF;
            IF NEW.offer <> OLD.offer OR NEW.number <> OLD.number THEN
                RAISE EXCEPTION 'an offer version keeps its offer and number'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END
        $$
        """,
        """
        CREATE TRIGGER offer_versions_immutable BEFORE UPDATE OR DELETE ON offer_versions
        FOR EACH ROW EXECUTE FUNCTION offer_versions_immutable()
        """,
    ],
    sqlite=[
        CATEGORIES_TABLE,
        *SEED,
        # SQLite accepts a reference to a table created later; it is checked when rows are written.
        offers_table("REFERENCES offer_versions (id) ON DELETE RESTRICT"),
        VERSIONS_TABLE,
        *INDEXES,
        """
        CREATE TRIGGER categories_code_format_insert BEFORE INSERT ON categories
        WHEN NEW.code NOT GLOB '[a-z]*' OR NEW.code GLOB '*[^a-z0-9_]*'
        BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: categories_code_format'); END
        """,
        """
        CREATE VIRTUAL TABLE offers_search USING fts5 (
            offer_id UNINDEXED, words, tokenize = 'unicode61', prefix = '2 3 4'
        )
        """,
        """
        CREATE TRIGGER offers_search_insert AFTER INSERT ON offers
        BEGIN INSERT INTO offers_search (offer_id, words) VALUES (NEW.id, NEW.search_words); END
        """,
        """
        CREATE TRIGGER offers_search_update AFTER UPDATE OF search_words ON offers
        BEGIN
            DELETE FROM offers_search WHERE offer_id = OLD.id;
            INSERT INTO offers_search (offer_id, words) VALUES (NEW.id, NEW.search_words);
        END
        """,
        """
        CREATE TRIGGER offers_search_delete AFTER DELETE ON offers
        BEGIN DELETE FROM offers_search WHERE offer_id = OLD.id; END
        """,
        """
        CREATE TRIGGER offer_versions_no_update BEFORE UPDATE ON offer_versions
        WHEN (SELECT status FROM offers WHERE id = OLD.offer) IS NOT 'draft'
            OR NEW.offer IS NOT OLD.offer OR NEW.number IS NOT OLD.number
        BEGIN SELECT RAISE(ABORT, 'offer versions are immutable once the offer is published'); END
        """,
        """
        CREATE TRIGGER offer_versions_no_delete BEFORE DELETE ON offer_versions
        WHEN (SELECT status FROM offers WHERE id = OLD.offer) IS NOT 'draft'
        BEGIN SELECT RAISE(ABORT, 'offer versions are immutable once the offer is published'); END
        """,
    ],
)
