"""Members, users and API tokens."""

from marketplace.migrations import ddl_migration

ID = "2026-11-26T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "members, users and api tokens"

KINDS = "'state_agency','municipal_it_provider','municipality','university','cooperative','other_public_body'"
STATES = (
    "'DE-BW','DE-BY','DE-BE','DE-BB','DE-HB','DE-HH','DE-HE','DE-MV',"
    "'DE-NI','DE-NW','DE-RP','DE-SL','DE-SN','DE-ST','DE-SH','DE-TH'"
)

forwards = ddl_migration(
    migration_id=ID,
    app_name="members",
    description=DESCRIPTION,
    statements=[
        f"""
        CREATE TABLE members (
            id UUID PRIMARY KEY,
            code VARCHAR(32) NOT NULL UNIQUE,
            name VARCHAR(200) NOT NULL CHECK (length(name) > 0),
            kind VARCHAR(32) NOT NULL CHECK (kind IN ({KINDS})),
            state VARCHAR(5) NOT NULL CHECK (state IN ({STATES})),
            leitweg_id VARCHAR(46),
            contact_email VARCHAR(254),
            iban VARCHAR(34),
            bic VARCHAR(11),
            account_holder VARCHAR(70),
            status VARCHAR(16) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'departed')),
            version INTEGER NOT NULL DEFAULT 1 CHECK (version > 0),
            admitted_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            left_at TIMESTAMPTZ,
            CHECK ((status = 'departed') = (left_at IS NOT NULL))
        )
        """,
        # At most one cooperative office: it owns the cooperative roles and the clearing account.
        "CREATE UNIQUE INDEX members_one_cooperative ON members (kind) WHERE kind = 'cooperative'",
        """
        CREATE TABLE users (
            id UUID PRIMARY KEY,
            member UUID NOT NULL REFERENCES members (id) ON DELETE RESTRICT,
            email VARCHAR(254) NOT NULL UNIQUE CHECK (email = lower(email) AND email LIKE '%_@_%'),
            name VARCHAR(200) NOT NULL CHECK (length(name) > 0),
            roles VARCHAR(200) NOT NULL CHECK (length(roles) > 0),
            active BOOLEAN NOT NULL DEFAULT TRUE,
            created_at TIMESTAMPTZ NOT NULL
        )
        """,
        "CREATE INDEX users_member ON users (member)",
        """
        CREATE TABLE api_tokens (
            id UUID PRIMARY KEY,
            owner UUID NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
            name VARCHAR(100) NOT NULL CHECK (length(name) > 0),
            token_hash VARCHAR(64) NOT NULL UNIQUE CHECK (length(token_hash) = 64),
            prefix VARCHAR(12) NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            expires_at TIMESTAMPTZ,
            revoked_at TIMESTAMPTZ,
            last_used_at TIMESTAMPTZ
        )
        """,
        "CREATE INDEX api_tokens_owner ON api_tokens (owner)",
    ],
    postgres=["ALTER TABLE members ADD CONSTRAINT members_code_format CHECK (code ~ '^[A-Z][A-Z0-9-]{0,31}$')"],
    sqlite=[
        # SQLite cannot add a check to an existing table; triggers refuse the same rows.
        """
        CREATE TRIGGER members_code_format_insert BEFORE INSERT ON members
        WHEN NEW.code NOT GLOB '[A-Z]*' OR NEW.code GLOB '*[^A-Z0-9-]*'
        BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: members_code_format'); END
        """,
        """
        CREATE TRIGGER members_code_format_update BEFORE UPDATE OF code ON members
        WHEN NEW.code NOT GLOB '[A-Z]*' OR NEW.code GLOB '*[^A-Z0-9-]*'
        BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: members_code_format'); END
        """,
    ],
)
