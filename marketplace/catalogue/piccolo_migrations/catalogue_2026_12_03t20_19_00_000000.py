"""Bounds on offer terms (``marketplace.money``): a unit price of at most 1,000,000.00 EUR (10^8 cents) and a
capacity of at most 1,000,000,000 units, so that no settlement line can leave 64-bit cents.

PostgreSQL adds the checks ``NOT VALID``: they hold for every row written from now on, while a version stored
before them stays readable (a settlement run reports a line it cannot book instead of failing). SQLite cannot add
a check to an existing table; triggers refuse the same writes with the same kind of error.
"""

from marketplace.migrations import ddl_migration

ID = "2026-12-03T20:19:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "bounds on unit price and capacity"

#: (constraint, column, condition with {0} for the column)
BOUNDS = [
    ("offer_versions_unit_price_bound", "unit_price_cents", "{0} BETWEEN 0 AND 100000000"),
    ("offer_versions_capacity_bound", "capacity", "{0} IS NULL OR {0} BETWEEN 1 AND 1000000000"),
]


def _sqlite_triggers(name: str, column: str, condition: str) -> list[str]:
    return [
        f"""
        CREATE TRIGGER {name}_{event.split()[0].lower()} BEFORE {event} ON offer_versions
        WHEN NOT ({condition.format("NEW." + column)})
        BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END
        """
        for event in ("INSERT", f"UPDATE OF {column}")
    ]


forwards = ddl_migration(
    migration_id=ID,
    app_name="catalogue",
    description=DESCRIPTION,
    statements=[],
    postgres=[
        f"ALTER TABLE offer_versions ADD CONSTRAINT {name} CHECK ({condition.format(column)}) NOT VALID"
        for name, column, condition in BOUNDS
    ],
    sqlite=[statement for bound in BOUNDS for statement in _sqlite_triggers(*bound)],
)
