"""Bounds on quantities and usage (``marketplace.money``): requests and agreements hold at most 1,000,000 units, a
usage report at most 1,000,000.000 units (10^9 thousandths), so that no settlement line can leave 64-bit cents.

PostgreSQL adds the checks ``NOT VALID``: they hold for every row written from now on, while a row stored before
them stays readable (a settlement run reports an agreement whose line it cannot book instead of failing). SQLite
cannot add a check to an existing table; triggers refuse the same writes with the same kind of error.
"""

from marketplace.migrations import ddl_migration

ID = "2026-12-03T20:19:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "bounds on quantities and usage"

#: (table, constraint, column, condition with {0} for the column)
BOUNDS = [
    ("requests", "requests_quantity_bound", "quantity", "{0} BETWEEN 1 AND 1000000"),
    ("agreements", "agreements_quantity_bound", "quantity", "{0} BETWEEN 1 AND 1000000"),
    ("usage_reports", "usage_reports_quantity_bound", "quantity_milli", "{0} BETWEEN 0 AND 1000000000"),
]


def _sqlite_triggers(table: str, name: str, column: str, condition: str) -> list[str]:
    return [
        f"""
        CREATE TRIGGER {name}_{event.split()[0].lower()} BEFORE {event} ON {table}
        WHEN NOT ({condition.format("NEW." + column)})
        BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END
        """
        for event in ("INSERT", f"UPDATE OF {column}")
    ]


forwards = ddl_migration(
    migration_id=ID,
    app_name="booking",
    description=DESCRIPTION,
    statements=[],
    postgres=[
        f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({condition.format(column)}) NOT VALID"
        for table, name, column, condition in BOUNDS
    ],
    sqlite=[statement for bound in BOUNDS for statement in _sqlite_triggers(*bound)],
)
